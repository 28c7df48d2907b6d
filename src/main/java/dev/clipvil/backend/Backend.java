package dev.clipvil.backend;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;

import java.util.Arrays;

/**
 * The primitive op set that every backend implements. Inputs may be any strided views (a backend
 * copies to contiguous where it must); outputs are new contiguous tensors on the backend's device
 * unless a method says it writes in place. No autograd here: {@code dev.clipvil.ops} composes these
 * forward and backward primitives into differentiable functions.
 *
 * <p>Compute dtypes: F32 everywhere; F64 on the CPU (for gradient checks). BF16/F16 are storage types
 * that {@link #cast} converts. Wrong shapes or dtypes throw {@link dev.clipvil.tensor.ShapeException} /
 * {@link dev.clipvil.tensor.DTypeException} naming the op and the shapes.
 */
public interface Backend {

    String name();

    Device device();

    /** Memory statistics of this backend's pool. */
    MemoryStats memoryStats();

    // ---- data movement --------------------------------------------------------------------

    /** Uninitialised contiguous tensor on this device. */
    default Tensor empty(DType dtype, int... shape) { return Tensor.empty(device(), dtype, shape); }

    /** Writes {@code value} into every element of {@code dst} (any strides). */
    void fill(Tensor dst, double value);

    /**
     * Copies {@code src} into {@code dst} element by element, converting dtype (round to nearest even
     * for BF16/F16). {@code src} is broadcast to {@code dst}'s shape. Either may be any view.
     */
    void copy(Tensor src, Tensor dst);

    /** A contiguous copy (or {@code x} itself, with a new handle, when already contiguous). */
    Tensor contiguous(Tensor x);

    /** A new contiguous tensor of dtype {@code to}. */
    Tensor cast(Tensor x, DType to);

    /** Fills {@code dst} with uniform values in [lo, hi) from a generator seeded with {@code seed}. */
    void fillUniform(Tensor dst, double lo, double hi, long seed);

    /** Fills {@code dst} with normal values from a generator seeded with {@code seed}. */
    void fillNormal(Tensor dst, double mean, double std, long seed);

    // ---- GEMM -----------------------------------------------------------------------------

    /**
     * Batched matrix product: {@code a} [..., M, K] times {@code b} [..., K, N] (batch dims broadcast),
     * plus {@code bias} [N] when not null. Transposed operands are passed as transposed views
     * (e.g. strides [1, M]); the backend runs them without a copy.
     */
    Tensor matmul(Tensor a, Tensor b, Tensor bias);

    /**
     * {@link #matmul(Tensor, Tensor, Tensor)} with a result of dtype {@code out}: {@code a} and {@code b}
     * share a dtype, {@code bias} (or null) is of dtype {@code out}. The mixed case is BF16/F16 operands
     * with an F32 result (F32 accumulation, the F32 sum written directly, as PyTorch's
     * {@code out_dtype=float32} GEMM): autocast's linears take it so that their F32 activations need no
     * widening pass. This default is the plain product cast to {@code out} (bias added in {@code out});
     * a backend with such GEMMs (CUDA) overrides it.
     */
    default Tensor matmul(Tensor a, Tensor b, Tensor bias, DType out) {
        if (bias != null && bias.dtype() != out) {
            throw new DTypeException("matmul: bias must be " + out + " for a " + out + " result, got " + bias.dtype());
        }
        if (a.dtype() == out) return matmul(a, b, bias);
        Tensor r = matmul(a, b, null);
        Tensor c = cast(r, out);
        r.close();
        if (bias != null) binaryInPlace(BinaryOp.ADD, c, bias);
        return c;
    }

    // ---- elementwise ----------------------------------------------------------------------

    Tensor unary(UnaryOp op, Tensor x);

    /** Gradient of a unary op: {@code gy * op'(x)}; {@code y} is the forward output (may be used instead of x). */
    Tensor unaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy);

    /** {@code a op b} with broadcasting; both operands share a floating dtype. */
    Tensor binary(BinaryOp op, Tensor a, Tensor b);

    /** {@code a op s}. */
    Tensor binaryScalar(BinaryOp op, Tensor a, double s);

    /** {@code dst = dst op src} in place, {@code src} broadcast to dst's shape. */
    void binaryInPlace(BinaryOp op, Tensor dst, Tensor src);

    /** {@code dst = dst * alpha + src * beta} in place (src broadcast). The optimizer's and accumulator's axpy. */
    void axpby(Tensor dst, double alpha, Tensor src, double beta);

    /** Elementwise comparison with broadcasting: a BOOL tensor. */
    Tensor compare(CompareOp op, Tensor a, Tensor b);

    /** {@code cond ? a : b}, all three broadcast; cond is BOOL. */
    Tensor where(Tensor cond, Tensor a, Tensor b);

    // ---- reductions -----------------------------------------------------------------------

    /** SUM/MEAN/MAX/MIN over {@code dims} (an empty array means all dims). */
    Tensor reduce(ReduceOp op, Tensor x, int[] dims, boolean keepDim);

    /** Index of the maximum along {@code dim}, as I64 (first one on ties). */
    Tensor argmax(Tensor x, int dim, boolean keepDim);

    /** Variance over {@code dims} with Bessel's {@code correction} (0 = population). */
    Tensor variance(Tensor x, int[] dims, int correction, boolean keepDim);

    /** Softmax (or log-softmax) along {@code dim}. */
    Tensor softmax(Tensor x, int dim, boolean log);

    /** Gradient of softmax/log-softmax from the forward output {@code y}. */
    Tensor softmaxBackward(Tensor y, Tensor gy, int dim, boolean log);

    // ---- normalisation --------------------------------------------------------------------

    /**
     * Layer norm over the last dimension. {@code weight}/{@code bias} [C] may be null. Returns the
     * output and the per-row mean and reciprocal standard deviation (F32/F64, shape [rows]).
     */
    NormResult layerNorm(Tensor x, Tensor weight, Tensor bias, double eps);

    /** {gx, gweight, gbias} (the last two null when weight is null). */
    Tensor[] layerNormBackward(Tensor gy, Tensor x, Tensor weight, Tensor mean, Tensor rstd);

    /**
     * The residual step of a transformer fused with the layer norm after it: {@code sum = x + residual}
     * (same shape and dtype, rounded to that dtype) and {@code out = layerNorm(sum)}, the statistics
     * those of the rounded sum, so the result equals the unfused add then {@link #layerNorm}. A backend
     * with a fused kernel reads x and residual once instead of writing the sum and reading it back;
     * this default is the unfused pair. The backward is {@link #layerNormBackward} on {@code sum}.
     */
    default AddNormResult addLayerNorm(Tensor x, Tensor residual, Tensor weight, Tensor bias, double eps) {
        if (!Arrays.equals(x.shape(), residual.shape()) || x.dtype() != residual.dtype()) {
            throw new ShapeException("add_layer_norm: x " + x.describe() + " and residual "
                    + residual.describe() + " must have the same shape and dtype");
        }
        Tensor sum = binary(BinaryOp.ADD, x, residual);
        try {
            NormResult r = layerNorm(sum, weight, bias, eps);
            return new AddNormResult(sum, r.out(), r.mean(), r.rstd());
        } catch (RuntimeException e) {
            sum.close();
            throw e;
        }
    }

    /**
     * Batch norm over [N, C, ...] in training mode: normalises with the batch statistics and updates
     * the running statistics in place (PyTorch semantics: unbiased variance in the running estimate).
     * Returns the output and the batch mean and reciprocal std [C].
     */
    NormResult batchNormTrain(Tensor x, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
                              double momentum, double eps);

    /** Batch norm with frozen running statistics. */
    Tensor batchNormEval(Tensor x, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar, double eps);

    /**
     * {gx, gweight, gbias}. In training mode {@code mean}/{@code rstd} are the batch statistics and the
     * gradient flows through them; in eval mode they are the running statistics (as mean and 1/sqrt(var+eps)).
     */
    Tensor[] batchNormBackward(Tensor gy, Tensor x, Tensor weight, Tensor mean, Tensor rstd, boolean training);

    // ---- convolution and pooling ----------------------------------------------------------

    /** NCHW conv2d, weight [K, C/groups, R, S], bias [K] or null. */
    Tensor conv2d(Tensor x, Tensor weight, Tensor bias, Conv2dParams p);

    Tensor conv2dBackwardInput(Tensor gy, Tensor weight, int[] inputShape, Conv2dParams p);

    Tensor conv2dBackwardWeight(Tensor gy, Tensor x, int[] weightShape, Conv2dParams p);

    Tensor avgPool2d(Tensor x, Pool2dParams p);

    Tensor avgPool2dBackward(Tensor gy, int[] inputShape, Pool2dParams p);

    /** PyTorch's adaptive average pooling to [outH, outW]. */
    Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW);

    Tensor adaptiveAvgPool2dBackward(Tensor gy, int[] inputShape);

    // ---- indexing -------------------------------------------------------------------------

    /** Rows of {@code x} along {@code dim} picked by {@code index} (I32/I64, 1-D). Embedding is dim 0. */
    Tensor indexSelect(Tensor x, int dim, Tensor index);

    /** Zeros of {@code shape} with {@code src} scatter-added along {@code dim} at {@code index}: indexSelect's backward. */
    Tensor indexAdd(int[] shape, int dim, Tensor index, Tensor src);

    /** Concatenation along {@code dim}. */
    Tensor cat(Tensor[] xs, int dim);

    // ---- random ---------------------------------------------------------------------------

    /** Dropout keep-mask of {@code shape}: 0 or 1/(1-p), in {@code dtype}. */
    Tensor dropoutMask(int[] shape, DType dtype, double p, long seed);

    /**
     * {@code k} distinct indices of [0, {@code total}) in ascending order, I32 [k]: those whose keys
     * SplitMix64(seed + 0x9E3779B97F4A7C15 * (i + 1)) are the k smallest (unsigned; ties by index), so a
     * uniformly random subset that every backend draws identically for a seed. total is at most
     * {@link #MAX_SUBSET}. Runs on the device (a CUDA graph reads the seed from its slot).
     */
    Tensor randomSubset(int total, int k, long seed);

    /** The largest {@code total} of {@link #randomSubset} (the CUDA kernel keeps every key in shared memory). */
    int MAX_SUBSET = 4096;

    // ---- attention ------------------------------------------------------------------------

    /**
     * Fused scaled-dot-product attention. q [B, H, Sq, D], k and v [B, H, Sk, D]. {@code mask} is null,
     * an additive floating mask or a BOOL mask (true = attend), broadcastable to [B, H, Sq, Sk].
     * {@code causal} masks keys after the query position. Returns the output [B, H, Sq, D] and the
     * log-sum-exp of each score row [B, H, Sq] (F32/F64) that the backward pass needs.
     */
    AttentionResult attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale);

    /** {gq, gk, gv}. */
    Tensor[] attentionBackward(Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                               Tensor mask, boolean causal, double scale);

    /**
     * {@link #attention} with the output in {@code outType} (mixed precision: BF16 q/k/v on tensor
     * cores, F32 accumulation written as F32 without a BF16 rounding). The default computes in q's
     * dtype and casts the output; a backend with mixed kernels overrides it.
     */
    default AttentionResult attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale, DType outType) {
        AttentionResult r = attention(q, k, v, mask, causal, scale);
        if (r.out().dtype() == outType) return r;
        Tensor o = cast(r.out(), outType);
        r.out().close();
        return new AttentionResult(o, r.lse());
    }

    /**
     * {@link #attentionBackward} with the gradients in {@code gradType}, for {@code gOut} and {@code out}
     * of that dtype (mixed precision: BF16 q/k/v, F32 gOut, out and gradients). The products read gOut
     * rounded to q's dtype, and delta = rowsum(gOut * out) uses that same rounded gOut with out as
     * given. The default converts gOut and out to q's dtype, runs {@link #attentionBackward} and casts
     * the gradients (equal to the above when q's dtype is the wide one, e.g. all F32); a backend with
     * mixed kernels overrides it.
     */
    default Tensor[] attentionBackward(Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                       Tensor mask, boolean causal, double scale, DType gradType) {
        DType dt = q.dtype();
        Tensor g = gOut.dtype() == dt ? gOut : cast(gOut, dt), o = out.dtype() == dt ? out : cast(out, dt);
        Tensor[] r;
        try {
            r = attentionBackward(g, q, k, v, o, lse, mask, causal, scale);
        } finally {
            if (g != gOut) g.close();
            if (o != out) o.close();
        }
        for (int i = 0; i < r.length; i++) {
            if (r[i].dtype() == gradType) continue;
            Tensor c = cast(r[i], gradType);
            r[i].close();
            r[i] = c;
        }
        return r;
    }

    /**
     * {@link #attention} writing its output into {@code out} ([B, H, Sq, Dv] in q's dtype, or the wide
     * type of the mixed call), which may be a strided view: e.g. the [N, H, S, D] view (strides
     * {S*E, D, E, 1}) of an [N, S, E] tensor, so the heads come out already merged. Returns the lse.
     * The default runs the call above and copies the output in; a backend whose kernels store through
     * strides overrides it.
     */
    default Tensor attentionInto(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale, Tensor out) {
        AttentionResult r = out.dtype() == q.dtype() ? attention(q, k, v, mask, causal, scale) : attention(q, k, v, mask, causal, scale, out.dtype());
        try {
            copy(r.out(), out);
        } catch (RuntimeException | Error e) {
            r.lse().close();
            throw e;
        } finally {
            r.out().close();
        }
        return r.lse();
    }

    /**
     * {@link #attentionBackward} writing gq, gk, gv into the given tensors (in their dtype, which the
     * three share: q's dtype, or the wide type of the mixed call above), which may be strided views:
     * e.g. the q, k and v slots of one packed [N, S, 3E] gradient ([N, H, S, D] views with strides
     * {S*3E, D, 3E, 1}). The default runs the call above and copies the results in; a backend whose
     * kernels store through strides overrides it and writes them in place.
     */
    default void attentionBackwardInto(Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                       Tensor mask, boolean causal, double scale, Tensor gq, Tensor gk, Tensor gv) {
        Tensor[] r = gq.dtype() == q.dtype() ? attentionBackward(gOut, q, k, v, out, lse, mask, causal, scale)
                : attentionBackward(gOut, q, k, v, out, lse, mask, causal, scale, gq.dtype());
        try {
            copy(r[0], gq);
            copy(r[1], gk);
            copy(r[2], gv);
        } finally {
            for (Tensor t : r) t.close();
        }
    }

    // ---- losses ---------------------------------------------------------------------------

    /**
     * Per-row cross-entropy of {@code logits} [N, C] against class indices [N] (I32/I64; rows equal to
     * {@code ignoreIndex} give 0) or soft targets [N, C] (floating). Returns [N].
     */
    Tensor crossEntropy(Tensor logits, Tensor target, int ignoreIndex);

    /** Gradient wrt the logits, given the gradient of each row's loss {@code gLoss} [N]. */
    Tensor crossEntropyBackward(Tensor logits, Tensor target, int ignoreIndex, Tensor gLoss);

    /** Elementwise binary cross-entropy with logits against (soft) targets, same shape. */
    Tensor bceWithLogits(Tensor x, Tensor target);

    /** Gradient wrt x: {@code (sigmoid(x) - target) * g}. */
    Tensor bceWithLogitsBackward(Tensor x, Tensor target, Tensor g);

    // ---- optimizer updates (in place) -----------------------------------------------------

    /** One AdamW step on {@code param} with PyTorch's semantics (decoupled weight decay, bias correction). */
    void adamwStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, double lr, double beta1, double beta2,
                   double eps, double weightDecay, long step);

    /** One SGD step with PyTorch's semantics; {@code momentumBuf} may be null when momentum is 0. */
    void sgdStep(Tensor param, Tensor grad, Tensor momentumBuf, double lr, double momentum, double dampening,
                 double weightDecay, boolean nesterov, boolean firstStep);

    /**
     * {@link #adamwStep} over several parameters of one group (one lr and weight decay), each with its
     * own step count {@code steps[i]}: the same result, tensor by tensor, as one call per parameter; a
     * backend may fuse them into few launches (CUDA: one per 48 contiguous parameters).
     */
    default void adamwStepMulti(Tensor[] params, Tensor[] grads, Tensor[] expAvgs, Tensor[] expAvgSqs, double lr, double beta1, double beta2,
                                double eps, double weightDecay, long[] steps) {
        for (int i = 0; i < params.length; i++) {
            adamwStep(params[i], grads[i], expAvgs[i], expAvgSqs[i], lr, beta1, beta2, eps, weightDecay, steps[i]);
        }
    }

    /** {@link #sgdStep} over several parameters of one group; {@code momentumBufs} null (or its entries) when momentum is 0. */
    default void sgdStepMulti(Tensor[] params, Tensor[] grads, Tensor[] momentumBufs, double lr, double momentum, double dampening,
                              double weightDecay, boolean nesterov, boolean[] firstSteps) {
        for (int i = 0; i < params.length; i++) {
            sgdStep(params[i], grads[i], momentumBufs == null ? null : momentumBufs[i], lr, momentum, dampening, weightDecay, nesterov, firstSteps[i]);
        }
    }
}
