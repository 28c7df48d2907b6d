package dev.clipvil.backend.cpu;

import dev.clipvil.backend.AttentionResult;
import dev.clipvil.backend.Backend;
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
import dev.clipvil.tensor.HostMemory;
import dev.clipvil.tensor.Tensor;

/**
 * The CPU backend: pure Java, multithreaded ({@link Parallel}), with Vector API kernels on the hot
 * paths (GEMM, convolution, layer norm, softmax). It is the reference every other backend is tested
 * against. Each op family lives in its own class; this one only routes.
 */
public final class CpuBackend implements Backend {
    private static final CpuBackend INSTANCE = new CpuBackend();

    private CpuBackend() {}

    public static CpuBackend get() { return INSTANCE; }

    @Override public String name() { return "cpu"; }
    @Override public Device device() { return Device.CPU; }

    @Override
    public MemoryStats memoryStats() {
        HostMemory m = HostMemory.get();
        return new MemoryStats(m.inUseBytes(), m.cachedBytes(), m.peakBytes());
    }

    // data movement
    @Override public void fill(Tensor dst, double value) { CpuCopy.fill(dst, value); }
    @Override public void copy(Tensor src, Tensor dst) { CpuCopy.copy(src, dst); }
    @Override public Tensor contiguous(Tensor x) { return CpuCopy.contiguous(x); }
    @Override public Tensor cast(Tensor x, DType to) { return CpuCopy.cast(x, to); }
    @Override public void fillUniform(Tensor dst, double lo, double hi, long seed) { CpuRandom.fillUniform(dst, lo, hi, seed); }
    @Override public void fillNormal(Tensor dst, double mean, double std, long seed) { CpuRandom.fillNormal(dst, mean, std, seed); }
    @Override public Tensor dropoutMask(int[] shape, DType dtype, double p, long seed) { return CpuRandom.dropoutMask(shape, dtype, p, seed); }
    @Override public Tensor randomSubset(int total, int k, long seed) { return CpuRandom.randomSubset(total, k, seed); }

    // GEMM
    @Override public Tensor matmul(Tensor a, Tensor b, Tensor bias) { return CpuGemm.matmul(a, b, bias); }

    // elementwise
    @Override public Tensor unary(UnaryOp op, Tensor x) { return CpuElementwise.unary(op, x); }
    @Override public Tensor unaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy) { return CpuElementwise.unaryBackward(op, x, y, gy); }
    @Override public Tensor binary(BinaryOp op, Tensor a, Tensor b) { return CpuElementwise.binary(op, a, b); }
    @Override public Tensor binaryScalar(BinaryOp op, Tensor a, double s) { return CpuElementwise.binaryScalar(op, a, s); }
    @Override public void binaryInPlace(BinaryOp op, Tensor dst, Tensor src) { CpuElementwise.binaryInPlace(op, dst, src); }
    @Override public void axpby(Tensor dst, double alpha, Tensor src, double beta) { CpuElementwise.axpby(dst, alpha, src, beta); }
    @Override public Tensor compare(CompareOp op, Tensor a, Tensor b) { return CpuElementwise.compare(op, a, b); }
    @Override public Tensor where(Tensor cond, Tensor a, Tensor b) { return CpuElementwise.where(cond, a, b); }

    // reductions
    @Override public Tensor reduce(ReduceOp op, Tensor x, int[] dims, boolean keepDim) { return CpuReduce.reduce(op, x, dims, keepDim); }
    @Override public Tensor argmax(Tensor x, int dim, boolean keepDim) { return CpuReduce.argmax(x, dim, keepDim); }
    @Override public Tensor variance(Tensor x, int[] dims, int correction, boolean keepDim) { return CpuReduce.variance(x, dims, correction, keepDim); }
    @Override public Tensor softmax(Tensor x, int dim, boolean log) { return CpuSoftmax.softmax(x, dim, log); }
    @Override public Tensor softmaxBackward(Tensor y, Tensor gy, int dim, boolean log) { return CpuSoftmax.backward(y, gy, dim, log); }

    // normalisation
    @Override public NormResult layerNorm(Tensor x, Tensor w, Tensor b, double eps) { return CpuLayerNorm.forward(x, w, b, eps); }
    @Override public Tensor[] layerNormBackward(Tensor gy, Tensor x, Tensor w, Tensor mean, Tensor rstd) { return CpuLayerNorm.backward(gy, x, w, mean, rstd); }
    @Override public NormResult batchNormTrain(Tensor x, Tensor w, Tensor b, Tensor rm, Tensor rv, double momentum, double eps) { return CpuBatchNorm.train(x, w, b, rm, rv, momentum, eps); }
    @Override public Tensor batchNormEval(Tensor x, Tensor w, Tensor b, Tensor rm, Tensor rv, double eps) { return CpuBatchNorm.eval(x, w, b, rm, rv, eps); }
    @Override public Tensor[] batchNormBackward(Tensor gy, Tensor x, Tensor w, Tensor mean, Tensor rstd, boolean training) { return CpuBatchNorm.backward(gy, x, w, mean, rstd, training); }

    // convolution and pooling
    @Override public Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p) { return CpuConv.forward(x, w, bias, p); }
    @Override public Tensor conv2dBackwardInput(Tensor gy, Tensor w, int[] inputShape, Conv2dParams p) { return CpuConv.backwardInput(gy, w, inputShape, p); }
    @Override public Tensor conv2dBackwardWeight(Tensor gy, Tensor x, int[] weightShape, Conv2dParams p) { return CpuConv.backwardWeight(gy, x, weightShape, p); }
    @Override public Tensor avgPool2d(Tensor x, Pool2dParams p) { return CpuPool.avgPool2d(x, p); }
    @Override public Tensor avgPool2dBackward(Tensor gy, int[] inputShape, Pool2dParams p) { return CpuPool.avgPool2dBackward(gy, inputShape, p); }
    @Override public Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW) { return CpuPool.adaptiveAvgPool2d(x, outH, outW); }
    @Override public Tensor adaptiveAvgPool2dBackward(Tensor gy, int[] inputShape) { return CpuPool.adaptiveAvgPool2dBackward(gy, inputShape); }

    // indexing
    @Override public Tensor indexSelect(Tensor x, int dim, Tensor index) { return CpuIndex.indexSelect(x, dim, index); }
    @Override public Tensor indexAdd(int[] shape, int dim, Tensor index, Tensor src) { return CpuIndex.indexAdd(shape, dim, index, src); }
    @Override public Tensor cat(Tensor[] xs, int dim) { return CpuIndex.cat(xs, dim); }

    // attention
    @Override public AttentionResult attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale) { return CpuAttention.forward(q, k, v, mask, causal, scale); }
    @Override public Tensor[] attentionBackward(Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor mask, boolean causal, double scale) { return CpuAttention.backward(gOut, q, k, v, out, lse, mask, causal, scale); }

    // losses
    @Override public Tensor crossEntropy(Tensor logits, Tensor target, int ignoreIndex) { return CpuLoss.crossEntropy(logits, target, ignoreIndex); }
    @Override public Tensor crossEntropyBackward(Tensor logits, Tensor target, int ignoreIndex, Tensor gLoss) { return CpuLoss.crossEntropyBackward(logits, target, ignoreIndex, gLoss); }
    @Override public Tensor bceWithLogits(Tensor x, Tensor target) { return CpuLoss.bceWithLogits(x, target); }
    @Override public Tensor bceWithLogitsBackward(Tensor x, Tensor target, Tensor g) { return CpuLoss.bceWithLogitsBackward(x, target, g); }

    // optimizer updates
    @Override public void adamwStep(Tensor p, Tensor g, Tensor m, Tensor v, double lr, double b1, double b2, double eps, double wd, long step) { CpuOptim.adamw(p, g, m, v, lr, b1, b2, eps, wd, step); }
    @Override public void sgdStep(Tensor p, Tensor g, Tensor buf, double lr, double momentum, double dampening, double wd, boolean nesterov, boolean first) { CpuOptim.sgd(p, g, buf, lr, momentum, dampening, wd, nesterov, first); }
}
