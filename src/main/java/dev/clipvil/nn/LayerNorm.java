package dev.clipvil.nn;

import dev.clipvil.ops.Normalization;
import dev.clipvil.tensor.Tensor;

/** Layer norm over the last dimension, as {@code torch.nn.LayerNorm(dim, eps)}: "weight" (ones) and "bias" (zeros) [dim]. */
public class LayerNorm extends Layer {
    private final int dim;
    private final double eps;

    /** With PyTorch's default eps 1e-5. */
    public LayerNorm(int dim) { this(dim, 1e-5); }

    public LayerNorm(int dim, double eps) {
        if (dim < 1) throw new IllegalArgumentException("LayerNorm: dim must be >= 1, got " + dim);
        if (!(eps > 0)) throw new IllegalArgumentException("LayerNorm: eps must be > 0, got " + eps);
        this.dim = dim;
        this.eps = eps;
        Init.ones(registerParameter("weight", Init.empty(dim)));
        Init.zeros(registerParameter("bias", Init.empty(dim)));
    }

    @Override
    public Tensor forward(Tensor x) { return Normalization.layerNorm(x, param("weight"), param("bias"), eps); }

    /**
     * {@code x + residual} and this norm of it in one fused step ({@link Normalization#addLayerNorm}):
     * the residual stream and its normalisation, as a transformer block needs them.
     */
    public Normalization.AddNorm forwardAdd(Tensor x, Tensor residual) {
        return Normalization.addLayerNorm(x, residual, param("weight"), param("bias"), eps);
    }

    public int dim() { return dim; }

    public double eps() { return eps; }
}
