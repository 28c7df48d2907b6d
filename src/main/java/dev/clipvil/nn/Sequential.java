package dev.clipvil.nn;

import dev.clipvil.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Layers applied in order. Built from a list they are named "0", "1", ... (state-dict keys
 * "0.weight", ...); {@link #add(String, Layer)} gives them names, as PyTorch's Sequential of an
 * OrderedDict (CLIP's MLP: "c_fc", "gelu", "c_proj").
 */
public class Sequential extends Layer {
    private final List<Layer> layers = new ArrayList<>();

    public Sequential(Layer... layers) {
        for (Layer l : layers) add(l);
    }

    /** Appends {@code layer} under the next index. Returns this. */
    public Sequential add(Layer layer) { return add(Integer.toString(layers.size()), layer); }

    /** Appends {@code layer} under {@code name}. Returns this. */
    public Sequential add(String name, Layer layer) {
        registerModule(name, layer);
        layers.add(layer);
        return this;
    }

    public Layer get(int i) { return layers.get(i); }

    public int size() { return layers.size(); }

    @Override
    public Tensor forward(Tensor x) {
        Tensor y = x;
        for (Layer l : layers) y = l.forward(y);
        return y;
    }
}
