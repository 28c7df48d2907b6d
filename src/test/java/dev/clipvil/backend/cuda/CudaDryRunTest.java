package dev.clipvil.backend.cuda;

import dev.clipvil.backend.AttentionResult;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.BinaryOp;
import dev.clipvil.backend.CompareOp;
import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.backend.NormResult;
import dev.clipvil.backend.Pool2dParams;
import dev.clipvil.backend.ReduceOp;
import dev.clipvil.backend.UnaryOp;
import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every CudaBackend primitive driven on the CPU through a dry-run context (no GPU): the Java side's
 * shape checks, geometry, output shapes and dtypes run for real, and every launch's packed arguments
 * are checked against the kernel's parameters in its source. What the GPU computes is the parity
 * tests' business; this catches argument-packing and glue mistakes in CI.
 */
class CudaDryRunTest {
    static CudaContext ctx;
    static Backend gpu;
    static final Backend CPU = CpuBackend.get();

    @BeforeAll
    static void install() {
        ctx = CudaContext.installDryRun(63);
        gpu = new CudaBackend(ctx);
    }

    /** A device tensor of {@code shape} and its CPU twin (values are not compared in a dry run). */
    private static Tensor[] pair(DType dtype, int... shape) {
        Tensor c = Tensor.empty(dtype, shape);
        CPU.fill(c, 0.5);
        return new Tensor[]{c, CudaTransfer.toDevice(c, ctx.device())};
    }

    private static Tensor[] transposed(Tensor[] p) {
        Tensor[] r = new Tensor[2];
        for (int i = 0; i < 2; i++) {
            int[] s = p[i].shape(), st = p[i].strides();
            int n = s.length;
            int t = s[n - 1]; s[n - 1] = s[n - 2]; s[n - 2] = t;
            t = st[n - 1]; st[n - 1] = st[n - 2]; st[n - 2] = t;
            r[i] = p[i].asStrided(s, st, p[i].offset());
        }
        return r;
    }

    private static void same(String what, Tensor g, Tensor c) {
        if (c == null) {
            assertEquals(null, g, what);
            return;
        }
        assertArrayEquals(c.shape(), g.shape(), what + ": shape");
        DType want = c.dtype();
        assertEquals(want, g.dtype(), what + ": dtype");
        assertEquals(ctx.device(), g.device(), what + ": device");
    }

    /** For device results without a CPU twin (the CPU backend computes in F32/F64 only). */
    private static void shaped(String what, Tensor g, DType dtype, int... shape) {
        assertArrayEquals(shape, g.shape(), what + ": shape");
        assertEquals(dtype, g.dtype(), what + ": dtype");
        assertEquals(ctx.device(), g.device(), what + ": device");
    }

    @Test
    void everyPrimitivePacksWhatItsKernelDeclares() {
        try (MemoryScope scope = MemoryScope.open()) {
            Tensor[] x = transposed(pair(DType.F32, 4, 6, 5)), y = pair(DType.F32, 5, 1), pos = pair(DType.F32, 4, 5, 6), row = pair(DType.F32, 6);
            for (UnaryOp op : UnaryOp.values()) {
                same(op + "", gpu.unary(op, x[1]), CPU.unary(op, x[0]));
                same(op + " backward", gpu.unaryBackward(op, x[1], x[1], pos[1]), CPU.unaryBackward(op, x[0], x[0], pos[0]));
            }
            for (BinaryOp op : BinaryOp.values()) {
                same(op + "", gpu.binary(op, x[1], y[1]), CPU.binary(op, x[0], y[0]));
                same(op + " scalar", gpu.binaryScalar(op, x[1], 2), CPU.binaryScalar(op, x[0], 2));
            }
            gpu.binaryInPlace(BinaryOp.ADD, pos[1], row[1]);
            gpu.axpby(pos[1], 0.5, x[1], 2);
            for (CompareOp op : CompareOp.values()) same(op + "", gpu.compare(op, x[1], y[1]), CPU.compare(op, x[0], y[0]));
            Tensor gc = gpu.compare(CompareOp.GT, x[1], y[1]), cc = CPU.compare(CompareOp.GT, x[0], y[0]);
            same("where", gpu.where(gc, x[1], y[1]), CPU.where(cc, x[0], y[0]));

            gpu.fill(x[1], 3);
            Tensor[] big = pair(DType.F32, 2, 4, 5, 6);
            gpu.copy(x[1], big[1]);
            same("contiguous", gpu.contiguous(x[1]), CPU.contiguous(x[0]));
            for (DType t : new DType[]{DType.BF16, DType.F16, DType.I32, DType.I64, DType.BOOL, DType.F32}) same("cast " + t, gpu.cast(x[1], t), CPU.cast(x[0], t));
            gpu.fillUniform(x[1], 0, 1, 1);
            gpu.fillNormal(x[1], 0, 1, 1);
            same("dropout", gpu.dropoutMask(new int[]{3, 7}, DType.F32, 0.1, 1), CPU.dropoutMask(new int[]{3, 7}, DType.F32, 0.1, 1));
            assertEquals(DType.BF16, gpu.dropoutMask(new int[]{3, 7}, DType.BF16, 0.1, 1).dtype());
            same("random subset", gpu.randomSubset(625, 100, 3), CPU.randomSubset(625, 100, 3));
            assertThrows(IllegalArgumentException.class, () -> gpu.randomSubset(4097, 10, 3), "more cells than the kernel's shared memory holds");

            Tensor[] a = pair(DType.F32, 2, 3, 5, 7), w = transposed(pair(DType.F32, 4, 7)), bias = pair(DType.F32, 4), b3 = pair(DType.F32, 1, 3, 7, 4);
            same("matmul", gpu.matmul(a[1], w[1], bias[1]), CPU.matmul(a[0], w[0], bias[0]));
            same("matmul broadcast", gpu.matmul(a[1], b3[1], null), CPU.matmul(a[0], b3[0], null));

            for (ReduceOp op : ReduceOp.values()) {
                same(op + " all", gpu.reduce(op, x[1], new int[0], false), CPU.reduce(op, x[0], new int[0], false));
                same(op + " [0,2]", gpu.reduce(op, x[1], new int[]{0, 2}, true), CPU.reduce(op, x[0], new int[]{0, 2}, true));
            }
            Tensor[] rows = pair(DType.F32, 40, 64);
            for (ReduceOp op : ReduceOp.values()) same(op + " over rows", gpu.reduce(op, rows[1], new int[]{0}, false), CPU.reduce(op, rows[0], new int[]{0}, false));
            same("argmax", gpu.argmax(x[1], 1, false), CPU.argmax(x[0], 1, false));
            same("var", gpu.variance(x[1], new int[]{-1}, 1, false), CPU.variance(x[0], new int[]{-1}, 1, false));
            for (boolean log : new boolean[]{false, true}) {
                Tensor gs = gpu.softmax(x[1], 1, log), cs = CPU.softmax(x[0], 1, log);
                same("softmax", gs, cs);
                same("softmax backward", gpu.softmaxBackward(gs, x[1], 1, log), CPU.softmaxBackward(cs, x[0], 1, log));
            }

            Tensor[] img = pair(DType.F32, 2, 3, 8, 7), bw = pair(DType.F32, 3), bb = pair(DType.F32, 3), rm = pair(DType.F32, 3), rv = pair(DType.F32, 3);
            NormResult gn = gpu.batchNormTrain(img[1], bw[1], bb[1], rm[1], rv[1], 0.1, 1e-5);
            NormResult cn = CPU.batchNormTrain(img[0], bw[0], bb[0], rm[0], rv[0], 0.1, 1e-5);
            same("batch_norm", gn.out(), cn.out());
            same("batch_norm eval", gpu.batchNormEval(img[1], null, bb[1], rm[1], rv[1], 1e-5), CPU.batchNormEval(img[0], null, bb[0], rm[0], rv[0], 1e-5));
            Tensor[] gg = gpu.batchNormBackward(img[1], img[1], bw[1], gn.mean(), gn.rstd(), true);
            Tensor[] cg = CPU.batchNormBackward(img[0], img[0], bw[0], cn.mean(), cn.rstd(), true);
            for (int i = 0; i < 3; i++) same("batch_norm backward " + i, gg[i], cg[i]);

            Tensor[] lnw = pair(DType.F32, 6), lnb = pair(DType.F32, 6);
            NormResult gl = gpu.layerNorm(x[1], lnw[1], lnb[1], 1e-5), cl = CPU.layerNorm(x[0], lnw[0], lnb[0], 1e-5);
            same("layer_norm", gl.out(), cl.out());
            Tensor[] glb = gpu.layerNormBackward(x[1], x[1], lnw[1], gl.mean(), gl.rstd());
            Tensor[] clb = CPU.layerNormBackward(x[0], x[0], lnw[0], cl.mean(), cl.rstd());
            for (int i = 0; i < 3; i++) same("layer_norm backward " + i, glb[i], clb[i]);

            Conv2dParams cp = Conv2dParams.of(1, 1);
            Tensor[] cw = pair(DType.F32, 4, 3, 3, 3);
            Tensor gconv = gpu.conv2d(img[1], cw[1], null, cp), cconv = CPU.conv2d(img[0], cw[0], null, cp);
            same("conv2d", gconv, cconv);
            same("conv2d backward input", gpu.conv2dBackwardInput(gconv, cw[1], img[1].shape(), cp), CPU.conv2dBackwardInput(cconv, cw[0], img[0].shape(), cp));
            same("conv2d backward weight", gpu.conv2dBackwardWeight(gconv, img[1], cw[1].shape(), cp), CPU.conv2dBackwardWeight(cconv, img[0], cw[0].shape(), cp));
            // BF16: the NHWC tensor-core kernels (forward, input gradient by stride phase class, split-K weight gradient)
            Conv2dParams sp = new Conv2dParams(2, 2, 1, 1, 1, 1, 2);
            Tensor[] bimg = pair(DType.BF16, 2, 4, 9, 8), bcw = pair(DType.BF16, 6, 2, 3, 3);
            Tensor by = gpu.conv2d(bimg[1], bcw[1], null, sp);
            shaped("conv2d bf16", by, DType.BF16, 2, 6, 5, 4);
            shaped("conv2d bf16 backward input", gpu.conv2dBackwardInput(by, bcw[1], bimg[1].shape(), sp), DType.BF16, 2, 4, 9, 8);
            shaped("conv2d bf16 backward weight", gpu.conv2dBackwardWeight(by, bimg[1], bcw[1].shape(), sp), DType.BF16, 6, 2, 3, 3);

            Pool2dParams pp = new Pool2dParams(3, 3, 2, 2, 1, 1, true, false);
            Tensor gp = gpu.avgPool2d(img[1], pp), cpp = CPU.avgPool2d(img[0], pp);
            same("avg_pool2d", gp, cpp);
            same("avg_pool2d backward", gpu.avgPool2dBackward(gp, img[1].shape(), pp), CPU.avgPool2dBackward(cpp, img[0].shape(), pp));
            Tensor ga = gpu.adaptiveAvgPool2d(img[1], 3, 2), ca = CPU.adaptiveAvgPool2d(img[0], 3, 2);
            same("adaptive", ga, ca);
            same("adaptive backward", gpu.adaptiveAvgPool2dBackward(ga, img[1].shape()), CPU.adaptiveAvgPool2dBackward(ca, img[0].shape()));

            Tensor[] idx = pair(DType.I64, 3);
            Tensor gs = gpu.indexSelect(x[1], 0, idx[1]), cs = CPU.indexSelect(x[0], 0, idx[0]);
            same("index_select", gs, cs);
            same("index_add", gpu.indexAdd(new int[]{4, 5, 6}, 0, idx[1], gs), CPU.indexAdd(new int[]{4, 5, 6}, 0, idx[0], cs));
            same("cat", gpu.cat(new Tensor[]{x[1], pos[1]}, 2), CPU.cat(new Tensor[]{x[0], pos[0]}, 2));

            Tensor[] q = pair(DType.F32, 2, 2, 5, 8);
            AttentionResult gat = gpu.attention(q[1], q[1], q[1], null, true, 0.3), cat = CPU.attention(q[0], q[0], q[0], null, true, 0.3);
            same("attention", gat.out(), cat.out());
            same("attention lse", gat.lse(), cat.lse());
            Tensor[] gab = gpu.attentionBackward(q[1], q[1], q[1], q[1], gat.out(), gat.lse(), null, true, 0.3);
            Tensor[] cab = CPU.attentionBackward(q[0], q[0], q[0], q[0], cat.out(), cat.lse(), null, true, 0.3);
            for (int i = 0; i < 3; i++) same("attention backward " + i, gab[i], cab[i]);
            // the autocast mode: BF16 q/k/v, F32 output, F32 gOut and gradients
            Tensor qb = gpu.cast(q[1], DType.BF16);
            AttentionResult mixed = gpu.attention(qb, qb, qb, null, true, 0.3, DType.F32);
            assertEquals(DType.F32, mixed.out().dtype());
            for (Tensor gm : gpu.attentionBackward(q[1], qb, qb, qb, mixed.out(), mixed.lse(), null, true, 0.3, DType.F32)) {
                assertEquals(DType.F32, gm.dtype());
            }

            Tensor[] logits = pair(DType.F32, 4, 9), tgt = pair(DType.I32, 4), gl4 = pair(DType.F32, 4), soft = pair(DType.F32, 4, 9);
            same("cross_entropy", gpu.crossEntropy(logits[1], tgt[1], -100), CPU.crossEntropy(logits[0], tgt[0], -100));
            same("cross_entropy backward", gpu.crossEntropyBackward(logits[1], tgt[1], -100, gl4[1]), CPU.crossEntropyBackward(logits[0], tgt[0], -100, gl4[0]));
            same("cross_entropy soft", gpu.crossEntropy(logits[1], soft[1], -100), CPU.crossEntropy(logits[0], soft[0], -100));
            same("bce", gpu.bceWithLogits(logits[1], soft[1]), CPU.bceWithLogits(logits[0], soft[0]));
            same("bce backward", gpu.bceWithLogitsBackward(logits[1], soft[1], soft[1]), CPU.bceWithLogitsBackward(logits[0], soft[0], soft[0]));

            gpu.adamwStep(x[1], x[1], pos[1].asStrided(x[1].shape(), new int[]{30, 1, 5}, 0), x[1], 1e-3, 0.9, 0.999, 1e-8, 0.01, 3);
            gpu.sgdStep(x[1], x[1], x[1], 0.1, 0.9, 0, 0, true, false);
            gpu.sgdStep(x[1], x[1], null, 0.1, 0, 0, 0, false, true);
            Tensor[] dense = {gpu.empty(DType.F32, 3, 5), gpu.empty(DType.F32, 3, 5), gpu.empty(DType.F32, 3, 5), gpu.empty(DType.F32, 3, 5)};
            gpu.adamwStepMulti(new Tensor[]{dense[0]}, new Tensor[]{dense[1]}, new Tensor[]{dense[2]}, new Tensor[]{dense[3]}, 1e-3, 0.9, 0.999, 1e-8, 0.01, new long[]{3});
            gpu.sgdStepMulti(new Tensor[]{dense[0]}, new Tensor[]{dense[1]}, new Tensor[]{dense[2]}, 0.1, 0.9, 0, 0, true, new boolean[]{false});
            // inside a CUDA graph capture the updates read lr and step from device slots (the *_dev kernels), dropout masks their seeds
            try (CudaGraph g = CudaGraph.capture(ctx, () -> {
                gpu.adamwStep(x[1], x[1], x[1], x[1], 1e-3, 0.9, 0.999, 1e-8, 0.01, 3);
                gpu.sgdStep(x[1], x[1], x[1], 0.1, 0.9, 0, 0, true, false);
                gpu.dropoutMask(new int[]{3, 7}, DType.F32, 0.1, dev.clipvil.backend.HostSeeds.draw(() -> 5L)).close();
            })) {
                g.replay();
            }
            assertTrue(gpu.memoryStats().inUseBytes() > 0);
        }
        assertEquals(0, gpu.memoryStats().inUseBytes(), "everything made in the scope is freed");
    }

    private static int launchCount() {
        int n = 0;
        for (int c : DryRun.launches().values()) n += c;
        return n;
    }

    @Test
    void aMatmulBiasGoesThroughCublasLtsEpilogue() {
        try (MemoryScope scope = MemoryScope.open()) {
            Tensor[] a = pair(DType.F32, 6, 7), w = transposed(pair(DType.F32, 4, 7)), bias = pair(DType.F32, 4), wide = pair(DType.F32, 5);
            Tensor[] x3 = pair(DType.F32, 2, 3, 7);
            long ep = DryRun.biasEpilogues(), gemms = DryRun.gemms();
            int launches = launchCount();
            same("linear", gpu.matmul(a[1], w[1], bias[1]), CPU.matmul(a[0], w[0], bias[0]));
            same("batched, shared weight", gpu.matmul(x3[1], w[1], bias[1]), CPU.matmul(x3[0], w[0], bias[0]));
            assertEquals(gemms + 2, DryRun.gemms());
            assertEquals(ep + 2, DryRun.biasEpilogues());
            assertEquals(launches, launchCount(), "no broadcast copy of the bias into C, no operand copies");

            // a bias view one element in (4-byte aligned) is copied to an aligned buffer, then still fused
            Tensor[] odd = {wide[0].asStrided(new int[]{4}, new int[]{1}, 1), wide[1].asStrided(new int[]{4}, new int[]{1}, 1)};
            same("unaligned bias", gpu.matmul(a[1], w[1], odd[1]), CPU.matmul(a[0], w[0], odd[0]));
            assertEquals(ep + 3, DryRun.biasEpilogues());
            assertEquals(launches + 1, launchCount(), "one copy of the [4] bias");

            // the cublasGemmStridedBatchedEx fallback: the bias is broadcast into C (one copy launch), no epilogue
            CudaGemm.useLt(false);
            try {
                same("fallback", gpu.matmul(a[1], w[1], bias[1]), CPU.matmul(a[0], w[0], bias[0]));
            } finally {
                CudaGemm.useLt(true);
            }
            assertEquals(ep + 3, DryRun.biasEpilogues());
            assertEquals(gemms + 4, DryRun.gemms());
            assertEquals(launches + 2, launchCount());

            // BF16 operands take a BF16 bias in the epilogue (the output's type)
            Tensor ab = gpu.cast(a[1], DType.BF16), wb = gpu.cast(w[1], DType.BF16), bb = gpu.cast(bias[1], DType.BF16);
            long bf = DryRun.gemms(DType.BF16);
            Tensor yb = gpu.matmul(ab, wb, bb);
            assertEquals(DType.BF16, yb.dtype());
            assertArrayEquals(new int[]{6, 4}, yb.shape());
            assertEquals(bf + 1, DryRun.gemms(DType.BF16));
            assertEquals(ep + 4, DryRun.biasEpilogues());
        }
    }

    @Test
    void bf16OperandsWriteAnF32OutputWithAnF32BiasInOneGemm() {
        try (MemoryScope scope = MemoryScope.open()) {
            Tensor[] a = pair(DType.F32, 6, 7), w = transposed(pair(DType.F32, 4, 7)), bias = pair(DType.F32, 4);
            Tensor ab = gpu.cast(a[1], DType.BF16), wb = gpu.cast(w[1], DType.BF16);
            long mixed = DryRun.mixedGemms(), bf = DryRun.gemms(DType.BF16), ep = DryRun.biasEpilogues();
            int launches = launchCount();
            Tensor y = gpu.matmul(ab, wb, bias[1], DType.F32);
            assertEquals(DType.F32, y.dtype());
            assertArrayEquals(new int[]{6, 4}, y.shape());
            Tensor batched = gpu.matmul(gpu.cast(pair(DType.F32, 3, 6, 7)[1], DType.BF16), wb, null, DType.F32);
            assertEquals(DType.F32, batched.dtype());
            assertArrayEquals(new int[]{3, 6, 4}, batched.shape());
            assertEquals(mixed + 2, DryRun.mixedGemms());
            assertEquals(bf + 2, DryRun.gemms(DType.BF16), "counted by operand type");
            assertEquals(ep + 1, DryRun.biasEpilogues(), "the F32 bias in the epilogue of the F32 output");
            assertEquals(launches + 1, launchCount(), "only the batched operand's cast: no widening of the result");
            // the fallback: C is F32 too; the F32 bias broadcast into it (one same-dtype copy)
            CudaGemm.useLt(false);
            try {
                int l2 = launchCount();
                assertEquals(DType.F32, gpu.matmul(ab, wb, bias[1], DType.F32).dtype());
                assertEquals(l2 + 1, launchCount());
            } finally {
                CudaGemm.useLt(true);
            }
            assertEquals(mixed + 3, DryRun.mixedGemms());
            // the same-dtype case is the plain GEMM
            assertEquals(DType.BF16, gpu.matmul(ab, wb, null, DType.BF16).dtype());
            assertEquals(mixed + 3, DryRun.mixedGemms());
            assertThrows(DTypeException.class, () -> gpu.matmul(ab, wb, gpu.cast(bias[1], DType.BF16), DType.F32), "the bias has the output's type");
            assertThrows(DTypeException.class, () -> gpu.matmul(a[1], w[1], null, DType.BF16), "F32 operands cannot write BF16");
        }
    }

    @Test
    void everyDeclaredKernelWasLaunchedAndChecked() throws Exception {
        everyPrimitivePacksWhatItsKernelDeclares();
        Map<String, Integer> launched = DryRun.launches();
        List<String> missing = new ArrayList<>();
        for (Kernel k : KernelSymbolsTest.declaredKernels()) if (!launched.containsKey(k.toString())) missing.add(k.toString());
        assertTrue(missing.isEmpty(), "never launched in the dry run: " + missing + "; launched: " + new TreeSet<>(launched.keySet()));
        assertTrue(DryRun.gemms() >= 2);
    }
}
