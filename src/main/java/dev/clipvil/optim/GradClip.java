package dev.clipvil.optim;

import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.backend.BinaryOp;
import dev.clipvil.backend.ReduceOp;
import dev.clipvil.backend.UnaryOp;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/** Gradient clipping with PyTorch's semantics. */
public final class GradClip {
    private GradClip() {}

    /**
     * {@code torch.nn.utils.clip_grad_norm_(params, maxNorm)}: the L2 norm of all gradients together
     * (parameters without a gradient are skipped); when {@code maxNorm / (norm + 1e-6) < 1}, every
     * gradient is scaled by that coefficient in place. Returns the norm before clipping. A non-finite
     * norm is returned as is (and the gradients become non-finite), as PyTorch does by default.
     */
    public static double clipGradNorm(Iterable<Tensor> params, double maxNorm) {
        if (!(maxNorm > 0)) throw new IllegalArgumentException("clipGradNorm: maxNorm must be > 0, got " + maxNorm);
        List<Tensor> grads = new ArrayList<>();
        for (Tensor p : params) if (p.grad() != null) grads.add(p.grad());
        double sumSq = 0;
        for (Tensor g : grads) sumSq += sumOfSquares(g);
        double norm = Math.sqrt(sumSq);
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1 || Double.isNaN(coef)) {
            for (Tensor g : grads) Backends.of(g).axpby(g, coef, g, 0);
        }
        return norm;
    }

    /**
     * The same clipping without reading anything on the host, as PyTorch's foreach path does it: the
     * norm and {@code min(1, maxNorm / (norm + 1e-6))} are computed on the gradients' device and every
     * gradient is multiplied by that coefficient (a multiplication by 1 when no clipping is needed).
     * Nothing waits for the device, so this can be part of a captured CUDA graph. Returns the norm as a
     * new 0-d tensor (F32, or F64 for F64 gradients) (the caller closes it), or null when no parameter has a gradient.
     */
    public static Tensor clipGradNormOnDevice(Iterable<Tensor> params, double maxNorm) {
        if (!(maxNorm > 0)) throw new IllegalArgumentException("clipGradNorm: maxNorm must be > 0, got " + maxNorm);
        List<Tensor> grads = new ArrayList<>();
        for (Tensor p : params) if (p.grad() != null) grads.add(p.grad());
        if (grads.isEmpty()) return null;
        Backend be = Backends.of(grads.get(0));
        Tensor sumSq = null;
        for (Tensor g : grads) {
            Tensor sq = be.binary(BinaryOp.MUL, g, g);
            Tensor s = be.reduce(ReduceOp.SUM, sq, new int[0], false);
            sq.close();
            if (s.dtype() == DType.BF16 || s.dtype() == DType.F16) {
                Tensor f = be.cast(s, DType.F32);
                s.close();
                s = f;
            }
            if (sumSq == null) {
                sumSq = s;
            } else {
                be.binaryInPlace(BinaryOp.ADD, sumSq, s);
                s.close();
            }
        }
        Tensor norm = be.unary(UnaryOp.SQRT, sumSq);
        sumSq.close();
        Tensor denom = be.binaryScalar(BinaryOp.ADD, norm, 1e-6);
        Tensor coef = be.binaryScalar(BinaryOp.RDIV, denom, maxNorm);
        denom.close();
        Tensor clamped = be.binaryScalar(BinaryOp.MIN, coef, 1.0);
        coef.close();
        for (Tensor g : grads) {
            Tensor c = g.dtype() == clamped.dtype() ? clamped : be.cast(clamped, g.dtype());
            be.binaryInPlace(BinaryOp.MUL, g, c);
            if (c != clamped) c.close();
        }
        clamped.close();
        return norm;
    }

    /** Clips the gradients of every parameter of {@code optimizer}'s groups. */
    public static double clipGradNorm(Optimizer optimizer, double maxNorm) {
        List<Tensor> ps = new ArrayList<>();
        for (ParamGroup g : optimizer.groups()) ps.addAll(g.params().values());
        return clipGradNorm(ps, maxNorm);
    }

    /** The L2 norm of all gradients, without changing them. */
    public static double gradNorm(Iterable<Tensor> params) {
        double sumSq = 0;
        for (Tensor p : params) if (p.grad() != null) sumSq += sumOfSquares(p.grad());
        return Math.sqrt(sumSq);
    }

    private static double sumOfSquares(Tensor g) {
        Backend be = Backends.of(g);
        Tensor sq = be.binary(BinaryOp.MUL, g, g);
        Tensor s = be.reduce(ReduceOp.SUM, sq, new int[0], false);
        sq.close();
        double v = s.item();
        s.close();
        return v;
    }
}
