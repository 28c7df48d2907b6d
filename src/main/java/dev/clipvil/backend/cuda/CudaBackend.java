package dev.clipvil.backend.cuda;

import dev.clipvil.backend.AddNormResult;
import dev.clipvil.backend.AttentionResult;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.backend.BinaryOp;
import dev.clipvil.backend.CompareOp;
import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.backend.MemoryStats;
import dev.clipvil.backend.NormResult;
import dev.clipvil.backend.Pool2dParams;
import dev.clipvil.backend.ReduceOp;
import dev.clipvil.backend.UnaryOp;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.Storage;
import dev.clipvil.tensor.Tensor;

/**
 * The CUDA backend of one device: routes each primitive to its op family (CudaCopy, CudaGemm,
 * CudaElementwise, CudaReduce, CudaSoftmax, CudaBatchNorm, CudaLayerNorm, CudaConv, CudaPool,
 * CudaIndex, CudaRandom, CudaAttention, CudaLoss, CudaOptim); conv2d goes to CudaConv (our kernels) or
 * CudnnConv (cuDNN) as {@link ConvImpl} says. All work runs on the device's one
 * stream, so results are ordered without explicit synchronisation; reading a tensor on the host
 * ({@code Tensor.toFloatArray}, {@code item}) waits for it.
 */
public final class CudaBackend implements Backend {
    private static final CudaBackend[] BACKENDS = new CudaBackend[64];

    private final CudaContext ctx;

    /** A backend on {@code ctx} that is not registered (tests use it with a dry-run context). */
    CudaBackend(CudaContext ctx) { this.ctx = ctx; }

    /**
     * The backend of {@code cuda:index}, created and registered (with {@link Backends} and the storage
     * allocator) on first use; fails with the reason when there is no such GPU.
     */
    public static CudaBackend register(int index) {
        CudaContext ctx = CudaContext.get(index);
        synchronized (BACKENDS) {
            if (BACKENDS[index] == null) {
                Storage.registerAllocator(Device.Kind.CUDA, CudaStorage::allocateOn);
                CudaBackend b = new CudaBackend(ctx);
                Backends.register(b);
                BACKENDS[index] = b;
            }
            return BACKENDS[index];
        }
    }

    /** Lets F32 GEMMs use TF32 tensor cores (default off: strict F32, env CLIPVIL_TF32=1 turns it on). */
    public static void allowTf32(boolean allow) { CudaGemm.allowTf32(allow); }

    /** Whether F32 GEMMs may use TF32 tensor cores now. */
    public static boolean tf32Allowed() { return CudaGemm.tf32(); }

    /** Chooses what runs conv2d and its gradients on every GPU: our kernels or cuDNN (see {@link ConvImpl}); returns the previous choice. */
    public static ConvImpl useConv(ConvImpl impl) { return ConvImpl.use(impl); }

    /** What runs conv2d on the GPU now. */
    public static ConvImpl conv() { return ConvImpl.current(); }

    private static boolean cudnnConv() { return ConvImpl.current() == ConvImpl.CUDNN; }

    public CudaContext context() { return ctx; }

    /** Waits for all queued work of this device. */
    public void synchronize() { ctx.synchronize(); }

    @Override public String name() { return "cuda"; }
    @Override public Device device() { return ctx.device(); }
    @Override public MemoryStats memoryStats() { return ctx.memory().stats(); }

    // data movement
    @Override public void fill(Tensor dst, double value) { CudaCopy.fill(ctx, dst, value); }
    @Override public void copy(Tensor src, Tensor dst) { CudaCopy.copy(ctx, src, dst); }
    @Override public Tensor contiguous(Tensor x) { return CudaCopy.contiguous(ctx, x); }
    @Override public Tensor cast(Tensor x, DType to) { return CudaCopy.cast(ctx, x, to); }
    @Override public void fillUniform(Tensor dst, double lo, double hi, long seed) { CudaRandom.fillUniform(ctx, dst, lo, hi, seed); }
    @Override public void fillNormal(Tensor dst, double mean, double std, long seed) { CudaRandom.fillNormal(ctx, dst, mean, std, seed); }
    @Override public Tensor dropoutMask(int[] shape, DType dtype, double p, long seed) { return CudaRandom.dropoutMask(ctx, shape, dtype, p, seed); }
    @Override public Tensor randomSubset(int total, int k, long seed) { return CudaRandom.randomSubset(ctx, total, k, seed); }

    // GEMM
    @Override public Tensor matmul(Tensor a, Tensor b, Tensor bias) { return CudaGemm.matmul(ctx, a, b, bias); }

    @Override public Tensor matmul(Tensor a, Tensor b, Tensor bias, DType out) { return CudaGemm.matmul(ctx, a, b, bias, out); }

    // elementwise
    @Override public Tensor unary(UnaryOp op, Tensor x) { return CudaElementwise.unary(ctx, op, x); }
    @Override public Tensor unaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy) { return CudaElementwise.unaryBackward(ctx, op, x, y, gy); }
    @Override public Tensor binary(BinaryOp op, Tensor a, Tensor b) { return CudaElementwise.binary(ctx, op, a, b); }
    @Override public Tensor binaryScalar(BinaryOp op, Tensor a, double s) { return CudaElementwise.binaryScalar(ctx, op, a, s); }
    @Override public void binaryInPlace(BinaryOp op, Tensor dst, Tensor src) { CudaElementwise.binaryInPlace(ctx, op, dst, src); }
    @Override public void axpby(Tensor dst, double alpha, Tensor src, double beta) { CudaElementwise.axpby(ctx, dst, alpha, src, beta); }
    @Override public Tensor compare(CompareOp op, Tensor a, Tensor b) { return CudaElementwise.compare(ctx, op, a, b); }
    @Override public Tensor where(Tensor cond, Tensor a, Tensor b) { return CudaElementwise.where(ctx, cond, a, b); }

    // reductions
    @Override public Tensor reduce(ReduceOp op, Tensor x, int[] dims, boolean keepDim) { return CudaReduce.reduce(ctx, op, x, dims, keepDim); }
    @Override public Tensor argmax(Tensor x, int dim, boolean keepDim) { return CudaReduce.argmax(ctx, x, dim, keepDim); }
    @Override public Tensor variance(Tensor x, int[] dims, int correction, boolean keepDim) { return CudaReduce.variance(ctx, x, dims, correction, keepDim); }
    @Override public Tensor softmax(Tensor x, int dim, boolean log) { return CudaSoftmax.softmax(ctx, x, dim, log); }
    @Override public Tensor softmaxBackward(Tensor y, Tensor gy, int dim, boolean log) { return CudaSoftmax.backward(ctx, y, gy, dim, log); }

    // normalisation
    @Override public NormResult layerNorm(Tensor x, Tensor w, Tensor b, double eps) { return CudaLayerNorm.forward(ctx, x, w, b, eps); }
    @Override public Tensor[] layerNormBackward(Tensor gy, Tensor x, Tensor w, Tensor mean, Tensor rstd) { return CudaLayerNorm.backward(ctx, gy, x, w, mean, rstd); }
    @Override public AddNormResult addLayerNorm(Tensor x, Tensor r, Tensor w, Tensor b, double eps) { return CudaLayerNorm.forwardResidual(ctx, x, r, w, b, eps); }
    @Override public NormResult batchNormTrain(Tensor x, Tensor w, Tensor b, Tensor rm, Tensor rv, double momentum, double eps) { return CudaBatchNorm.train(ctx, x, w, b, rm, rv, momentum, eps); }
    @Override public Tensor batchNormEval(Tensor x, Tensor w, Tensor b, Tensor rm, Tensor rv, double eps) { return CudaBatchNorm.eval(ctx, x, w, b, rm, rv, eps); }
    @Override public Tensor[] batchNormBackward(Tensor gy, Tensor x, Tensor w, Tensor mean, Tensor rstd, boolean training) { return CudaBatchNorm.backward(ctx, gy, x, w, mean, rstd, training); }

    // convolution and pooling
    // (our kernels or cuDNN, per the process-wide ConvImpl switch)
    @Override public Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p) {
        return cudnnConv() ? CudnnConv.forward(ctx, x, w, bias, p) : CudaConv.forward(ctx, x, w, bias, p);
    }
    @Override public Tensor conv2dBackwardInput(Tensor gy, Tensor w, int[] inputShape, Conv2dParams p) {
        return cudnnConv() ? CudnnConv.backwardInput(ctx, gy, w, inputShape, p) : CudaConv.backwardInput(ctx, gy, w, inputShape, p);
    }
    @Override public Tensor conv2dBackwardWeight(Tensor gy, Tensor x, int[] weightShape, Conv2dParams p) {
        return cudnnConv() ? CudnnConv.backwardWeight(ctx, gy, x, weightShape, p) : CudaConv.backwardWeight(ctx, gy, x, weightShape, p);
    }
    @Override public Tensor avgPool2d(Tensor x, Pool2dParams p) { return CudaPool.avgPool2d(ctx, x, p); }
    @Override public Tensor avgPool2dBackward(Tensor gy, int[] inputShape, Pool2dParams p) { return CudaPool.avgPool2dBackward(ctx, gy, inputShape, p); }
    @Override public Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW) { return CudaPool.adaptiveAvgPool2d(ctx, x, outH, outW); }
    @Override public Tensor adaptiveAvgPool2dBackward(Tensor gy, int[] inputShape) { return CudaPool.adaptiveAvgPool2dBackward(ctx, gy, inputShape); }

    // indexing
    @Override public Tensor indexSelect(Tensor x, int dim, Tensor index) { return CudaIndex.indexSelect(ctx, x, dim, index); }
    @Override public Tensor indexAdd(int[] shape, int dim, Tensor index, Tensor src) { return CudaIndex.indexAdd(ctx, shape, dim, index, src); }
    @Override public Tensor cat(Tensor[] xs, int dim) { return CudaIndex.cat(ctx, xs, dim); }

    // attention
    @Override public AttentionResult attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale) { return CudaAttention.forward(ctx, q, k, v, mask, causal, scale); }
    @Override public Tensor[] attentionBackward(Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor mask, boolean causal, double scale) {
        return CudaAttention.backward(ctx, gOut, q, k, v, out, lse, mask, causal, scale);
    }
    @Override public AttentionResult attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale, DType outType) {
        return CudaAttention.forward(ctx, q, k, v, mask, causal, scale, CudaAttention.FORCE_SIMT, outType);
    }
    @Override public Tensor[] attentionBackward(Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor mask, boolean causal,
                                                double scale, DType gradType) {
        return CudaAttention.backward(ctx, gOut, q, k, v, out, lse, mask, causal, scale, CudaAttention.FORCE_SIMT, gradType);
    }
    @Override public Tensor attentionInto(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale, Tensor out) {
        return CudaAttention.forwardInto(ctx, q, k, v, mask, causal, scale, CudaAttention.FORCE_SIMT, out);
    }
    @Override public void attentionBackwardInto(Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor mask, boolean causal,
                                                double scale, Tensor gq, Tensor gk, Tensor gv) {
        CudaAttention.backwardInto(ctx, gOut, q, k, v, out, lse, mask, causal, scale, CudaAttention.FORCE_SIMT, gq, gk, gv);
    }

    // losses
    @Override public Tensor crossEntropy(Tensor logits, Tensor target, int ignoreIndex) { return CudaLoss.crossEntropy(ctx, logits, target, ignoreIndex); }
    @Override public Tensor crossEntropyBackward(Tensor logits, Tensor target, int ignoreIndex, Tensor gLoss) { return CudaLoss.crossEntropyBackward(ctx, logits, target, ignoreIndex, gLoss); }
    @Override public Tensor bceWithLogits(Tensor x, Tensor target) { return CudaLoss.bceWithLogits(ctx, x, target); }
    @Override public Tensor bceWithLogitsBackward(Tensor x, Tensor target, Tensor g) { return CudaLoss.bceWithLogitsBackward(ctx, x, target, g); }

    // optimizer updates
    @Override public void adamwStep(Tensor p, Tensor g, Tensor m, Tensor v, double lr, double b1, double b2, double eps, double wd, long step) { CudaOptim.adamw(ctx, p, g, m, v, lr, b1, b2, eps, wd, step); }
    @Override public void sgdStep(Tensor p, Tensor g, Tensor buf, double lr, double momentum, double dampening, double wd, boolean nesterov, boolean first) {
        CudaOptim.sgd(ctx, p, g, buf, lr, momentum, dampening, wd, nesterov, first);
    }
    @Override public void adamwStepMulti(Tensor[] p, Tensor[] g, Tensor[] m, Tensor[] v, double lr, double b1, double b2, double eps, double wd, long[] steps) {
        CudaOptim.adamwMulti(ctx, p, g, m, v, lr, b1, b2, eps, wd, steps);
    }
    @Override public void sgdStepMulti(Tensor[] p, Tensor[] g, Tensor[] bufs, double lr, double momentum, double dampening, double wd, boolean nesterov, boolean[] first) {
        CudaOptim.sgdMulti(ctx, p, g, bufs, lr, momentum, dampening, wd, nesterov, first);
    }
}
