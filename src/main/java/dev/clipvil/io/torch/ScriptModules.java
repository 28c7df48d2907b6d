package dev.clipvil.io.torch;

import dev.clipvil.io.CheckpointException;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The state dict of a TorchScript archive, as {@code model.state_dict()} gives it: the module tree
 * that {@code data.pkl} unpickles to is walked from the root, and each module contributes its
 * parameters, then its buffers, then its submodules' entries under {@code <attribute>.} prefixes
 * (PyTorch's order), skipping None parameters as PyTorch does.
 *
 * <p>Which attributes are parameters and buffers is read, as text, from the class definitions the
 * archive carries ({@code code/__torch__/model.py} declares {@code __parameters__ = ["weight", ...]}
 * and {@code __buffers__ = [...]} for each class); the code is never run. A class whose definition is
 * missing counts all its tensor attributes as state and its {@code __torch__} object attributes as
 * submodules.
 */
final class ScriptModules {
    /** Real module trees are a few dozen levels deep at most; this bounds the recursion. */
    static final int MAX_DEPTH = 500;

    private static final Pattern CLASS = Pattern.compile("^class\\s+(\\w+)\\s*\\(\\s*([\\w.]*)\\s*\\)\\s*:", Pattern.MULTILINE);
    private static final Pattern LIST = Pattern.compile("^\\s+(__parameters__|__buffers__)\\s*=\\s*\\[([^\\]]*)\\]", Pattern.MULTILINE);
    private static final Pattern NAME = Pattern.compile("\"([^\"]*)\"|'([^']*)'");

    /** What the code says about one class. */
    private record ClassInfo(boolean module, Set<String> parameters, Set<String> buffers) {}

    private final ZipArchive zip;
    private final Map<String, ClassInfo> classes = new HashMap<>();
    private final Map<String, Map<String, ClassInfo>> files = new HashMap<>();

    private ScriptModules(ZipArchive zip) { this.zip = zip; }

    /** The parameters and buffers under {@code root}, with dotted names, in state-dict order. */
    static LinkedHashMap<String, TensorRef> stateDict(ZipArchive zip, ScriptObject root) throws CheckpointException {
        LinkedHashMap<String, TensorRef> out = new LinkedHashMap<>();
        new ScriptModules(zip).walk(root, "", out, Collections.newSetFromMap(new IdentityHashMap<>()));
        return out;
    }

    private void walk(ScriptObject m, String prefix, Map<String, TensorRef> out, Set<ScriptObject> path) throws CheckpointException {
        if (!path.add(m)) throw new CheckpointException(zip.file(), "module '" + prefix + "' contains itself: corrupt archive");
        if (path.size() > MAX_DEPTH) throw new CheckpointException(zip.file(), "module tree is deeper than " + MAX_DEPTH + " levels: corrupt archive");
        ClassInfo info = info(m.className());
        List<Map.Entry<String, Object>> attrs = new ArrayList<>(m.attributes().entrySet());
        for (boolean params : new boolean[] {true, false}) {
            for (Map.Entry<String, Object> a : attrs) {
                boolean state = info == null ? params && a.getValue() instanceof TensorRef
                        : (params ? info.parameters : info.buffers).contains(a.getKey());
                if (!state || a.getValue() == null) continue;
                if (!(a.getValue() instanceof TensorRef t)) {
                    throw new CheckpointException(zip.file(), (params ? "parameter '" : "buffer '") + prefix + a.getKey() + "' of "
                            + m.className() + " is a " + Py.typeName(a.getValue()) + ", not a tensor");
                }
                out.put(prefix + a.getKey(), t);
            }
        }
        for (Map.Entry<String, Object> a : attrs) {
            if (a.getValue() instanceof ScriptObject child && isModule(child)) walk(child, prefix + a.getKey() + ".", out, path);
        }
        path.remove(m);
    }

    private boolean isModule(ScriptObject o) throws CheckpointException {
        ClassInfo info = info(o.className());
        return info == null || info.module;
    }

    /** The parsed definition of {@code qualifiedName}, or null when the archive lacks it. */
    private ClassInfo info(String qualifiedName) throws CheckpointException {
        if (classes.containsKey(qualifiedName)) return classes.get(qualifiedName);
        int dot = qualifiedName.lastIndexOf('.');
        String module = qualifiedName.substring(0, Math.max(dot, 0)), simple = qualifiedName.substring(dot + 1);
        Map<String, ClassInfo> defs = files.get(module);
        if (defs == null) {
            String record = "code/" + module.replace('.', '/') + ".py";
            defs = zip.contains(record) ? parse(new String(zip.read(record), StandardCharsets.UTF_8)) : Map.of();
            files.put(module, defs);
        }
        ClassInfo info = defs.get(simple);
        classes.put(qualifiedName, info);
        return info;
    }

    /** The classes a code file defines, with their parameter and buffer lists. */
    private static Map<String, ClassInfo> parse(String code) {
        Map<String, ClassInfo> out = new HashMap<>();
        Matcher c = CLASS.matcher(code);
        List<int[]> spans = new ArrayList<>();
        List<String[]> heads = new ArrayList<>();
        while (c.find()) {
            spans.add(new int[] {c.end(), code.length()});
            heads.add(new String[] {c.group(1), c.group(2)});
            if (spans.size() > 1) spans.get(spans.size() - 2)[1] = c.start();
        }
        for (int i = 0; i < spans.size(); i++) {
            String body = code.substring(spans.get(i)[0], spans.get(i)[1]);
            Set<String> params = new java.util.LinkedHashSet<>(), buffers = new java.util.LinkedHashSet<>();
            Matcher l = LIST.matcher(body);
            while (l.find()) {
                Set<String> into = l.group(1).equals("__parameters__") ? params : buffers;
                Matcher n = NAME.matcher(l.group(2));
                while (n.find()) into.add(n.group(1) != null ? n.group(1) : n.group(2));
            }
            String base = heads.get(i)[1];
            out.put(heads.get(i)[0], new ClassInfo(base.equals("Module") || base.endsWith(".Module"), params, buffers));
        }
        return out;
    }
}
