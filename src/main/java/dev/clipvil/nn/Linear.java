package dev.clipvil.nn;

import dev.clipvil.tensor.Tensor;

/**
 * {@code y = x W^T + b} over the last dimension, as {@code torch.nn.Linear}: parameters "weight"
 * [out, in] (kaiming-uniform, a = sqrt 5) and "bias" [out] (U(+-1/sqrt in)) when enabled.
 */
public class Linear extends Layer {
    private final int inFeatures, outFeatures;

    public Linear(int inFeatures, int outFeatures) { this(inFeatures, outFeatures, true); }

    public Linear(int inFeatures, int outFeatures, boolean bias) { this(inFeatures, outFeatures, bias, Init.global()); }

    public Linear(int inFeatures, int outFeatures, boolean bias, Init init) {
        if (inFeatures < 1 || outFeatures < 1) throw new IllegalArgumentException("Linear: features must be >= 1, got " + inFeatures + " -> " + outFeatures);
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        Tensor w = registerParameter("weight", Init.empty(outFeatures, inFeatures));
        init.kaimingUniform(w, Math.sqrt(5));
        if (bias) init.fanInUniform(registerParameter("bias", Init.empty(outFeatures)), inFeatures);
    }

    @Override
    public Tensor forward(Tensor x) { return dev.clipvil.ops.Linear.linear(x, weight(), bias()); }

    public Tensor weight() { return param("weight"); }

    /** The bias, or null when disabled. */
    public Tensor bias() { return paramOrNull("bias"); }

    public int inFeatures() { return inFeatures; }

    public int outFeatures() { return outFeatures; }
}
