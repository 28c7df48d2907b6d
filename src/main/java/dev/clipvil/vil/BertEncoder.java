package dev.clipvil.vil;

import dev.clipvil.nn.Init;
import dev.clipvil.nn.Module;
import dev.clipvil.nn.ModuleList;
import dev.clipvil.tensor.Tensor;

/** The stack of BERT layers, named "layer.0", "layer.1", ... */
public final class BertEncoder extends Module {
    private final ModuleList<BertLayer> layers;

    public BertEncoder(BertConfig c, Init init) {
        layers = registerModule("layer", new ModuleList<>());
        for (int i = 0; i < c.numLayers(); i++) layers.add(new BertLayer(c, init));
    }

    public Tensor forward(Tensor x, Tensor mask) {
        for (BertLayer l : layers) x = l.forward(x, mask);
        return x;
    }

    public int size() { return layers.size(); }
}
