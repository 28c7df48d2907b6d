package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.AddNormResult;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.backend.BinaryOp;
import dev.clipvil.backend.NormResult;
import dev.clipvil.backend.ReduceOp;
import dev.clipvil.backend.UnaryOp;
import dev.clipvil.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Differentiable layer norm and batch norm. Each saves the input and the statistics of its forward
 * pass; the backward primitives give gx, gweight and gbias in one pass.
 */
public final class Normalization {
    private Normalization() {}

    /** The non-null tensors among {@code ts}, in order (the graph's inputs). */
    private static Tensor[] present(Tensor... ts) {
        List<Tensor> l = new ArrayList<>(ts.length);
        for (Tensor t : ts) if (t != null) l.add(t);
        return l.toArray(new Tensor[0]);
    }

    /** Gradients in the order of {@link #present}: gx, then gweight and gbias where those inputs exist. */
    private static Tensor[] inputGrads(Tensor gx, Tensor gw, Tensor gb, boolean hasW, boolean hasB) {
        List<Tensor> l = new ArrayList<>(3);
        l.add(gx);
        if (hasW) l.add(gw);
        else if (gw != null) gw.close();
        if (hasB) l.add(gb);
        else if (gb != null) gb.close();
        return l.toArray(new Tensor[0]);
    }

    /**
     * Layer norm over the last dim, as torch.nn.functional.layer_norm with normalized_shape = [C]:
     * (x - mean) / sqrt(var + eps) * weight + bias, the variance biased. weight and bias [C] may be null.
     */
    public static Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
        Backend be = Backends.of("layer_norm", x, weight, bias);
        NormResult r = be.layerNorm(x, weight, bias, eps);
        Tensor[] inputs = present(x, weight, bias);
        if (!Autograd.needsGrad(inputs)) {
            r.mean().close();
            r.rstd().close();
            return r.out();
        }
        return recordLayerNorm(r.out(), x, weight, bias, r.mean(), r.rstd());
    }

    /** Records layer norm's backward for {@code out} = layerNorm(x) computed with statistics mean, rstd. */
    private static Tensor recordLayerNorm(Tensor out, Tensor x, Tensor weight, Tensor bias, Tensor mean, Tensor rstd) {
        boolean hasW = weight != null, hasB = bias != null;
        int rank = x.dim();
        return Autograd.record("layer_norm", out, present(x, weight, bias), new Tensor[]{x, weight, mean, rstd}, (g, s) -> {
            Backend bg = Backends.of(g);
            Tensor[] gr = bg.layerNormBackward(g, s[0], s[1], s[2], s[3]);
            Tensor gb = gr[2];
            if (hasB && !hasW) gb = sumAllBut(bg, g, rank - 1);
            return inputGrads(gr[0], gr[1], gb, hasW, hasB);
        });
    }

    /** The residual stream {@code sum = x + residual} and its layer norm {@code normed}. */
    public record AddNorm(Tensor sum, Tensor normed) {}

    /**
     * A transformer's residual step and the layer norm after it, {@code sum = x + residual} and
     * {@code normed = layerNorm(sum, weight, bias, eps)}, through the backend's fused
     * {@link Backend#addLayerNorm} (one pass over x and residual on CUDA). Gradients are those of
     * {@link Elementwise#add} followed by {@link #layerNorm}: both results may feed the loss (a pre-LN
     * block keeps the sum as its residual stream, a post-LN block uses only the norm). Operands of
     * different shapes or dtypes (a broadcast residual) take the unfused pair.
     */
    public static AddNorm addLayerNorm(Tensor x, Tensor residual, Tensor weight, Tensor bias, double eps) {
        if (!Arrays.equals(x.shape(), residual.shape()) || x.dtype() != residual.dtype()) {
            Tensor sum = Elementwise.add(x, residual);
            return new AddNorm(sum, layerNorm(sum, weight, bias, eps));
        }
        Backend be = Backends.of("add_layer_norm", x, residual, weight, bias);
        AddNormResult r = be.addLayerNorm(x, residual, weight, bias, eps);
        Tensor sum = Autograd.record("add", r.sum(), new Tensor[]{x, residual}, null, (g, s) -> new Tensor[]{g, g});
        if (!Autograd.needsGrad(sum, weight, bias)) {
            r.mean().close();
            r.rstd().close();
            return new AddNorm(sum, r.out());
        }
        return new AddNorm(sum, recordLayerNorm(r.out(), sum, weight, bias, r.mean(), r.rstd()));
    }

    /**
     * Batch norm over [N, C, ...] as torch.nn.functional.batch_norm. In training mode it normalises
     * with the batch statistics and, when they are given, updates {@code runningMean} and
     * {@code runningVar} in place (new = (1 - momentum) old + momentum batch, the variance unbiased);
     * in eval mode it normalises with the running statistics, which must then be given. weight and
     * bias [C] may be null. The running statistics get no gradient.
     */
    public static Tensor batchNorm(Tensor x, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
                                   boolean training, double momentum, double eps) {
        Backend be = Backends.of("batch_norm", x, weight, bias, runningMean, runningVar);
        Tensor[] inputs = present(x, weight, bias);
        boolean grad = Autograd.needsGrad(inputs);
        Tensor out, mean, rstd;
        if (training) {
            NormResult r = be.batchNormTrain(x, weight, bias, runningMean, runningVar, momentum, eps);
            out = r.out();
            mean = r.mean();
            rstd = r.rstd();
            if (!grad) {
                mean.close();
                rstd.close();
                return out;
            }
        } else {
            out = be.batchNormEval(x, weight, bias, runningMean, runningVar, eps);
            if (!grad) return out;
            // a snapshot of the running statistics, so that a later in-place update cannot change this backward
            mean = be.cast(runningMean, x.dtype());
            Tensor var = be.cast(runningVar, x.dtype());
            Tensor ve = be.binaryScalar(BinaryOp.ADD, var, eps);
            var.close();
            rstd = be.unary(UnaryOp.RSQRT, ve);
            ve.close();
        }
        boolean hasW = weight != null, hasB = bias != null;
        int rank = x.dim();
        return Autograd.record("batch_norm", out, inputs, new Tensor[]{x, weight, mean, rstd}, (g, s) -> {
            Backend bg = Backends.of(g);
            Tensor[] gr = bg.batchNormBackward(g, s[0], s[1], s[2], s[3], training);
            Tensor gb = gr[2];
            if (hasB && !hasW) gb = sumAllBut(bg, g, 1);
            return inputGrads(gr[0], gr[1], gb, hasW, hasB);
        });
    }

    /** Sum of g over every dim except {@code keep}: a [g.shape(keep)] tensor. */
    private static Tensor sumAllBut(Backend be, Tensor g, int keep) {
        if (g.dim() == 1) return be.contiguous(g);
        int[] dims = new int[g.dim() - 1];
        for (int i = 0, j = 0; i < g.dim(); i++) if (i != keep) dims[j++] = i;
        return be.reduce(ReduceOp.SUM, g, dims, false);
    }
}
