package dev.clipvil.io.torch;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An instance of a TorchScript class ({@code __torch__.model.CLIP}, {@code __torch__.torch.nn.modules.conv.Conv2d},
 * ...) as an inert attribute bag: the class name and the attributes that BUILD gave it, in pickle
 * order. Nothing of the class is ever looked up or run; the module tree walk reads the attributes.
 */
final class ScriptObject {
    private final String className;
    private final Map<String, Object> attributes = new LinkedHashMap<>();
    private Object state;

    ScriptObject(String className) { this.className = className; }

    /** The qualified TorchScript class name, e.g. {@code __torch__.model.CLIP}. */
    String className() { return className; }

    /** Attribute name to value, in the order the pickle set them (the class's slot order). */
    Map<String, Object> attributes() { return attributes; }

    /** A BUILD state that was not an attribute dictionary (a custom {@code __getstate__}), or null. */
    Object state() { return state; }

    /** Applies a BUILD: a dictionary sets attributes, anything else is kept as the opaque state. */
    void build(Object s) throws PickleException {
        if (s instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!(e.getKey() instanceof String k)) {
                    throw new PickleException("attribute name " + Py.repr(e.getKey()) + " of a " + className + " object is not a string");
                }
                attributes.put(k, e.getValue());
            }
        } else {
            state = s;
        }
    }

    @Override
    public String toString() { return className + " object"; }
}
