package dev.clipvil.clip;

import dev.clipvil.nn.Module;
import dev.clipvil.tensor.Tensor;

/** A {@link VisionTransformer} as CLIP's {@link ImageEncoder} (the adapter adds no module level: keys stay "visual.conv1.weight", ...). */
public final class VitImageEncoder implements ImageEncoder {
    private final VisionTransformer vit;
    private final int outputDim;

    public VitImageEncoder(VisionTransformer vit) {
        this.vit = vit;
        this.outputDim = vit.stateDict().get("proj").shape(1);
    }

    /** Sets the MLP activation of the tower's blocks (VisionTransformer builds them with QuickGELU). */
    VitImageEncoder withActivation(Activation a) {
        ((Transformer) vit.child("transformer")).setActivation(a);
        return this;
    }

    public VisionTransformer vit() { return vit; }

    @Override public Module module() { return vit; }

    @Override public Tensor encode(Tensor pixels) { return vit.forward(pixels); }

    @Override public int inputResolution() { return vit.inputResolution(); }

    @Override public int outputDim() { return outputDim; }

    @Override public Tensor grid(Tensor pixels) { return vit.forwardGrid(pixels); }

    @Override public int gridChannels() { return vit.width(); }
}
