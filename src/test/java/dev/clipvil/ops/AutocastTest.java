package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.autograd.GradMode;
import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.backend.cuda.DryRunDevice;
import dev.clipvil.clip.Clip;
import dev.clipvil.clip.ClipConfig;
import dev.clipvil.clip.ClipOutput;
import dev.clipvil.nn.Init;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.HalfFloats;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * BF16 autocast: the policy's scoping, the CPU emulation against BF16 rounding done by hand (exact; for
 * linear and matmul, one node with F32 output and F32 gradient GEMMs),
 * against plain F32 (close), gradients, a tiny CLIP ViT, and BF16 GEMMs on a dry-run CUDA device.
 */
class AutocastTest {
    static final double CLOSE = 2e-2;

    /** A random F32 tensor that requires grad. */
    static Tensor in(long seed, int... shape) { return Creation.randn(seed, DType.F32, shape).requiresGrad(true); }

    /** A new F32 tensor of {@code t}'s values rounded to BF16 (by hand, with {@link HalfFloats}). */
    static Tensor bf16(Tensor t) {
        float[] a = t.toFloatArray();
        for (int i = 0; i < a.length; i++) a[i] = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(a[i]));
        return Tensor.of(a, t.shape());
    }

    /** max |a - b| / max |b|. */
    static double relErr(float[] a, float[] b) {
        assertEquals(b.length, a.length);
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            num = Math.max(num, Math.abs(a[i] - b[i]));
            den = Math.max(den, Math.abs(b[i]));
        }
        return num / Math.max(den, 1e-30);
    }

    /** The op's output and the gradients of every input of sum(out * w) for a fixed random w. */
    static float[][] run(Function<Tensor[], Tensor> op, Tensor... inputs) {
        try (MemoryScope s = MemoryScope.open()) {
            for (Tensor t : inputs) t.zeroGrad();
            Tensor out = op.apply(inputs);
            assertEquals(DType.F32, out.dtype());
            Tensor w = Creation.randn(99, DType.F32, out.shape());
            Autograd.backward(Reductions.sum(Elementwise.mul(out, w)));
            float[][] r = new float[inputs.length + 1][];
            r[0] = out.toFloatArray();
            for (int i = 0; i < inputs.length; i++) {
                assertNotNull(inputs[i].grad(), "gradient of input " + i);
                assertEquals(DType.F32, inputs[i].grad().dtype(), "gradient of input " + i);
                r[i + 1] = inputs[i].grad().toFloatArray();
            }
            return r;
        }
    }

    /**
     * Under bf16 the op equals the F32 op on hand-rounded inputs with its output rounded by hand
     * (1e-6), and output and gradients are within 2e-2 of plain F32; outside a guard nothing changes.
     */
    static void checkOp(String name, Function<Tensor[], Tensor> op, Tensor... inputs) {
        float[] before;
        try (MemoryScope s = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            before = op.apply(inputs).toFloatArray();
        }
        float[][] f32 = run(op, inputs);
        assertArrayEquals(before, f32[0], 0f, name + ": F32 outside a guard is unchanged");
        float[][] bf;
        try (Autocast.Guard g = Autocast.bf16()) {
            bf = run(op, inputs);
        }
        float[] byHand;
        try (MemoryScope s = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            Tensor[] rounded = new Tensor[inputs.length];
            for (int i = 0; i < inputs.length; i++) rounded[i] = bf16(inputs[i]);
            byHand = bf16(op.apply(rounded)).toFloatArray();
        }
        double exact = relErr(bf[0], byHand);
        assertTrue(exact <= 1e-6, name + ": emulation vs BF16 by hand " + exact);
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "autocast %s: bf16 vs by-hand %.1e; vs f32: out %.2e", name, exact, relErr(bf[0], f32[0])));
        assertTrue(relErr(bf[0], f32[0]) < CLOSE, name + ": output vs F32 " + relErr(bf[0], f32[0]));
        for (int i = 1; i < bf.length; i++) {
            double e = relErr(bf[i], f32[i]);
            sb.append(String.format(Locale.ROOT, ", grad%d %.2e", i - 1, e));
            assertTrue(e < CLOSE, name + ": gradient of input " + (i - 1) + " vs F32 " + e);
            assertTrue(e > 0, name + ": gradient of input " + (i - 1) + " went through BF16");
        }
        System.out.println(sb);
    }

    /** The upstream gradient {@link #run} feeds back: d sum(out * w) / d out = w. */
    static Tensor upstream(int... shape) { return Creation.randn(99, DType.F32, shape); }

    /**
     * A linear or matmul under bf16 (one node, F32 output) equals {@code byHand} exactly: the F32 op on
     * hand-rounded operands with no output rounding, gradients from the hand-rounded upstream gradient
     * through F32 GEMMs. {@code byHand} gets the inputs and the upstream gradient and returns
     * {out, grads...}, computed with plain F32 ops. Output and gradients are within 2e-2 of plain F32;
     * a linear's bias gradient (the F32 sum of the upstream gradient, input 2) equals plain F32's.
     */
    static void checkGemmOp(String name, Function<Tensor[], Tensor> op, java.util.function.BiFunction<Tensor[], Tensor, Tensor[]> byHand, Tensor... inputs) {
        boolean linear = name.startsWith("linear");
        float[][] f32 = run(op, inputs);
        float[][] bf;
        try (Autocast.Guard g = Autocast.bf16()) {
            bf = run(op, inputs);
        }
        float[][] hand = new float[bf.length][];
        try (MemoryScope s = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            int[] outShape = op.apply(inputs).shape();
            Tensor[] r = byHand.apply(inputs, upstream(outShape));
            for (int i = 0; i < r.length; i++) hand[i] = r[i].toFloatArray();
        }
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "autocast %s (one node, F32 out): vs f32: out %.2e", name, relErr(bf[0], f32[0])));
        for (int i = 0; i < bf.length; i++) {
            assertArrayEquals(hand[i], bf[i], 0f, name + (i == 0 ? ": output" : ": gradient of input " + (i - 1)) + " vs by hand");
            double e = relErr(bf[i], f32[i]);
            assertTrue(e < CLOSE, name + (i == 0 ? ": output" : ": gradient of input " + (i - 1)) + " vs F32 " + e);
            if (linear && i == 3) assertEquals(0.0, e, name + ": the bias gradient is the F32 sum of g");
            else assertTrue(e > 0, name + (i == 0 ? ": output" : ": gradient of input " + (i - 1)) + " went through BF16");
            if (i > 0) sb.append(String.format(Locale.ROOT, ", grad%d %.2e", i - 1, e));
        }
        System.out.println(sb + " (by hand: exact)");
    }

    /** The last two dims of {@code t} swapped (a view). */
    static Tensor mT(Tensor t) { return Views.transpose(t, -2, -1); }

    /** matmul by hand: A~ B~; gA = G~ B~^T, gB = sum over the batch of A~^T G~ (~ = rounded to BF16). */
    static Tensor[] matmulByHand(Tensor[] t, Tensor g) {
        Tensor a = bf16(t[0]), b = bf16(t[1]), gr = bf16(g);
        Tensor ga = Reductions.sumToShape(Linear.matmul(gr, mT(b)), t[0].shape());
        Tensor gb = Reductions.sumToShape(Linear.matmul(mT(a), gr), t[1].shape());
        return new Tensor[]{Linear.matmul(a, b), ga, gb};
    }

    /** linear by hand on rows X [rows, in]: X~ W~^T + b (b not rounded); gX = G~ W~, gW = G~^T X~, gb = sum of G (F32, not rounded). */
    static Tensor[] linearByHand(Tensor[] t, Tensor g) {
        int in = t[1].shape(1), outF = t[1].shape(0), rows = t[0].numel() / in;
        Tensor x = Views.reshape(bf16(t[0]), rows, in), w = bf16(t[1]), gr = Views.reshape(bf16(g), rows, outF);
        Tensor out = Views.reshape(Linear.linear(x, w, t[2]), g.shape());
        Tensor gx = Views.reshape(Linear.matmul(gr, w), t[0].shape());
        Tensor gw = Linear.matmul(mT(gr), x);
        int[] dims = new int[g.dim() - 1];
        for (int i = 0; i < dims.length; i++) dims[i] = i;
        return new Tensor[]{out, gx, gw, dims.length == 0 ? g : Reductions.sum(g, dims, false)};
    }

    @Test
    void matmulAndLinearAreBf16ProductsWithF32AccumulationAndOutput() {
        checkGemmOp("matmul", t -> Linear.matmul(t[0], t[1]), AutocastTest::matmulByHand, in(1, 2, 5, 24), in(2, 24, 7));
        checkGemmOp("linear", t -> Linear.linear(t[0], t[1], t[2]), AutocastTest::linearByHand, in(3, 3, 4, 24), in(4, 9, 24), in(5, 9));
    }

    @Test
    void theOneNodeGradientsMatchByHandOnViewsAndBroadcasts() {
        // transposed (non-contiguous) operands, a batch broadcast on both sides
        checkGemmOp("matmul(views)", t -> Linear.matmul(mT(t[0]), Views.transpose(t[1], 0, 2)), (t, g) -> {
            Tensor[] r = matmulByHand(new Tensor[]{mT(t[0]), Views.transpose(t[1], 0, 2)}, g);
            // back to the leaves' layouts
            return new Tensor[]{r[0], mT(r[1]), Views.transpose(r[2], 0, 2)};
        }, in(6, 3, 16, 4), in(7, 5, 16, 1));
        checkGemmOp("matmul(broadcast)", t -> Linear.matmul(t[0], t[1]), AutocastTest::matmulByHand, in(8, 2, 1, 3, 16), in(9, 4, 16, 5));
        // a non-contiguous input, rank 2, and a 1-D input
        checkGemmOp("linear(view)", t -> Linear.linear(mT(t[0]), t[1], t[2]), (t, g) -> {
            Tensor[] r = linearByHand(new Tensor[]{mT(t[0]), t[1], t[2]}, g);
            return new Tensor[]{r[0], mT(r[1]), r[2], r[3]};
        }, in(10, 16, 6), in(11, 3, 16), in(12, 3));
        checkGemmOp("linear(1-D)", t -> Linear.linear(t[0], t[1], t[2]), AutocastTest::linearByHand, in(13, 16), in(14, 5, 16), in(15, 5));
    }

    @Test
    void aFrozenWeightOrConstantInputGetsNoGradientAndTheOtherStaysExact() {
        Tensor x = in(16, 4, 16), w = Creation.randn(17, DType.F32, 6, 16), b = Creation.randn(18, DType.F32, 6);
        Tensor cx = Creation.randn(19, DType.F32, 4, 16), tw = in(20, 6, 16);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor gxAuto, gwAuto;
            try (Autocast.Guard g = Autocast.bf16()) {
                Tensor y1 = Linear.linear(x, w, b);
                Tensor y2 = Linear.linear(cx, tw, null);
                Autograd.backward(Reductions.sum(Elementwise.mul(y1, upstream(4, 6))));
                Autograd.backward(Reductions.sum(Elementwise.mul(y2, upstream(4, 6))));
            }
            gxAuto = x.grad();
            gwAuto = tw.grad();
            assertEquals(null, w.grad(), "a frozen weight gets no gradient");
            try (GradMode.Guard g = GradMode.noGrad()) {
                Tensor gr = bf16(upstream(4, 6));
                assertArrayEquals(Linear.matmul(gr, bf16(w)).toFloatArray(), gxAuto.toFloatArray(), 0f, "gx with a frozen weight");
                assertArrayEquals(Linear.matmul(mT(gr), bf16(cx)).toFloatArray(), gwAuto.toFloatArray(), 0f, "gW with a constant input");
            }
            // only the bias needs a gradient: the F32 sum of g, nothing lowered in backward
            Tensor tb = in(21, 6);
            try (Autocast.Guard g = Autocast.bf16()) {
                Autograd.backward(Reductions.sum(Elementwise.mul(Linear.linear(cx, w, tb), upstream(4, 6))));
            }
            assertArrayEquals(Reductions.sum(upstream(4, 6), new int[]{0}, false).toFloatArray(), tb.grad().toFloatArray(), 0f, "gbias alone");
            tb.close();
        }
        for (Tensor t : new Tensor[]{x, w, b, cx, tw}) t.close();
    }

    @Test
    void aConstantOperandSavedForBackwardSurvivesTheForward() {
        Tensor constant = Creation.randn(20, DType.F32, 3, 6), w = in(21, 6, 4);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor y;
            try (Autocast.Guard g = Autocast.bf16()) {
                y = Linear.matmul(constant, w);
            }
            Autograd.backward(Reductions.sum(y));
            assertEquals(DType.F32, w.grad().dtype());
        }
    }

    @Test
    void conv2dIsLowered() {
        checkOp("conv2d", t -> Convolution.conv2d(t[0], t[1], t[2], Conv2dParams.of(1, 1)), in(6, 2, 3, 7, 6), in(7, 4, 3, 3, 3), in(8, 4));
    }

    @Test
    void attentionLowersQkvAndKeepsAnF32Mask() {
        float[] m = new float[5 * 6];
        for (int i = 0; i < m.length; i++) m[i] = i % 4 == 1 ? -1e9f : (i % 3) * 0.25f;
        Tensor mask = Tensor.of(m, 1, 1, 5, 6);
        checkAttention("attention(mask)", t -> Attention.scaledDotProduct(t[0], t[1], t[2], mask, false, 0), in(9, 2, 2, 5, 8), in(10, 2, 2, 6, 8), in(11, 2, 2, 6, 8));
        checkAttention("attention(causal)", t -> Attention.scaledDotProduct(t[0], t[1], t[2], null, true, 0), in(12, 1, 2, 6, 8), in(13, 1, 2, 6, 8), in(14, 1, 2, 6, 8));
        float[] m5 = new float[5 * 5];
        for (int i = 0; i < m5.length; i++) m5[i] = i % 4 == 1 ? -1e9f : (i % 3) * 0.25f;
        Tensor mask5 = Tensor.of(m5, 1, 1, 5, 5);
        checkAttention("packed self-attention(mask)", t -> Attention.packedSelfAttention(t[0], 2, mask5, false, 0), in(15, 2, 5, 48));
        checkAttention("packed self-attention(causal, transposed)", t -> Attention.packedSelfAttention(Views.transpose(t[0], 0, 1), 3, null, true, 0),
                in(16, 4, 3, 36));
    }

    /**
     * Autocast attention is one mixed-precision node (kernels/attention.cu's bf16f32 kernels): q, k, v
     * rounded to BF16, the attention in F32 with an F32 output NOT rounded through BF16; backward rounds
     * the output gradient to BF16 once (products and delta = rowsum(bf16(gOut) * out)) and hands back F32
     * gradients not rounded through BF16. By hand that is the plain F32 op on BF16-rounded leaves with
     * the upstream weight rounded to BF16: the emulation must equal it exactly (0.0), and stay within
     * 2e-2 of plain F32.
     */
    static void checkAttention(String name, Function<Tensor[], Tensor> op, Tensor... inputs) {
        float[][] f32 = run(op, inputs);
        float[][] bf;
        try (Autocast.Guard g = Autocast.bf16()) {
            bf = run(op, inputs);
        }
        float[][] byHand = new float[inputs.length + 1][];
        try (MemoryScope s = MemoryScope.open()) {
            Tensor[] rounded = new Tensor[inputs.length];
            for (int i = 0; i < inputs.length; i++) rounded[i] = bf16(inputs[i]).requiresGrad(true);
            Tensor out = op.apply(rounded);
            Tensor w = Creation.randn(99, DType.F32, out.shape());  // run()'s upstream weight
            Autograd.backward(Reductions.sum(Elementwise.mul(out, bf16(w))));
            byHand[0] = out.toFloatArray();
            for (int i = 0; i < inputs.length; i++) byHand[i + 1] = rounded[i].grad().toFloatArray();
        }
        StringBuilder sb = new StringBuilder("autocast " + name + ": vs by-hand");
        for (int i = 0; i < bf.length; i++) {
            double e = relErr(bf[i], byHand[i]);
            sb.append(String.format(Locale.ROOT, " %s %.1e", i == 0 ? "out" : "grad" + (i - 1), e));
            assertEquals(0.0, e, name + (i == 0 ? ": output" : ": gradient of input " + (i - 1)) + " vs the mixed-precision semantics by hand");
        }
        sb.append("; vs f32:");
        for (int i = 0; i < bf.length; i++) {
            double e = relErr(bf[i], f32[i]);
            sb.append(String.format(Locale.ROOT, " %s %.2e", i == 0 ? "out" : "grad" + (i - 1), e));
            assertTrue(e < CLOSE, name + ": " + (i == 0 ? "output" : "gradient of input " + (i - 1)) + " vs F32 " + e);
            assertTrue(e > 0, name + ": " + (i == 0 ? "output" : "gradient of input " + (i - 1)) + " went through BF16");
        }
        System.out.println(sb);
    }

    @Test
    void otherOpsStayF32() {
        Tensor x = in(15, 4, 8);
        float[] plain = Softmax.softmax(x, 1).toFloatArray();
        try (Autocast.Guard g = Autocast.bf16()) {
            assertArrayEquals(plain, Softmax.softmax(x, 1).toFloatArray(), 0f, "softmax is not lowered");
        }
    }

    @Test
    void guardsNestRestoreAndArePerThread() throws Exception {
        assertFalse(Autocast.isBf16());
        try (Autocast.Guard a = Autocast.bf16()) {
            assertTrue(Autocast.isBf16());
            try (Autocast.Guard b = Autocast.f32()) {
                assertFalse(Autocast.isBf16());
            }
            assertTrue(Autocast.isBf16());
            assertThrows(IllegalStateException.class, () -> {
                try (Autocast.Guard c = Autocast.f32()) {
                    throw new IllegalStateException("boom");
                }
            });
            assertTrue(Autocast.isBf16(), "restored after an exception");
            AtomicBoolean other = new AtomicBoolean(true);
            Thread t = new Thread(() -> other.set(Autocast.isBf16()));
            t.start();
            t.join();
            assertFalse(other.get(), "another thread sees F32");
        }
        assertFalse(Autocast.isBf16());
    }

    @Test
    void tinyClipVitStaysCloseToF32() {
        ClipConfig c = ClipConfig.vit(6, 16, 2, 16, 4, 7, 20, 8, 2, 2).withHeads(2, 2);
        try (Clip clip = new Clip(c, new Init(3)); MemoryScope s = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            Tensor pixels = Creation.randn(4, DType.F32, 2, 3, 16, 16);
            float[] f32 = clip.encodeImage(pixels).toFloatArray();
            float[] bf;
            try (Autocast.Guard a = Autocast.bf16()) {
                bf = clip.encodeImage(pixels).toFloatArray();
            }
            double e = relErr(bf, f32);
            System.out.printf(Locale.ROOT, "autocast tiny CLIP ViT image features: bf16 vs f32 %.2e%n", e);
            assertTrue(e < CLOSE && e > 0, "bf16 vs f32 " + e);
        }
    }

    @Test
    void onADryRunCudaDeviceALinearIsOneCastEachWayAndMixedOutputGemms() {
        Device gpu = DryRunDevice.install();
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = Creation.to(Creation.randn(1, DType.F32, 4, 8), gpu).requiresGrad(true);
            Tensor w = Creation.to(Creation.randn(2, DType.F32, 5, 8), gpu).requiresGrad(true);
            Tensor b = Creation.to(Creation.randn(3, DType.F32, 5), gpu).requiresGrad(true);
            Tensor h = Creation.to(Creation.randn(4, DType.F32, 4, 8), gpu).requiresGrad(true);
            Tensor y1, y2;
            try (Autocast.Guard g = Autocast.bf16()) {
                int c0 = casts();
                long m0 = DryRunDevice.mixedGemms(), bf0 = DryRunDevice.gemms(DType.BF16);
                y1 = Linear.linear(x, w, b);
                assertEquals(2, casts() - c0, "x and (once per region) w are lowered; the bias stays F32");
                assertEquals(1, DryRunDevice.mixedGemms() - m0, "one mixed-output GEMM, no widening");
                assertEquals(1, DryRunDevice.gemms(DType.BF16) - bf0);
                int c1 = casts();
                y2 = Linear.linear(h, w, b);
                assertEquals(1, casts() - c1, "the second read of w takes the cached copy: only the activation is cast");
            }
            assertEquals(DType.F32, y1.dtype());
            Tensor y = Elementwise.add(y1, y2);
            int c2 = casts();
            long m2 = DryRunDevice.mixedGemms();
            Autograd.backward(Reductions.sum(y));
            assertEquals(2, casts() - c2, "backward casts each linear's g once (F32 -> BF16) and widens nothing");
            assertEquals(4, DryRunDevice.mixedGemms() - m2, "gx and gW of both linears are mixed-output GEMMs");
            for (Tensor t : new Tensor[]{x, w, b, h}) {
                assertEquals(DType.F32, t.grad().dtype());
                assertEquals(gpu, t.grad().device());
            }
        }
    }

    /** Converting copies (casts; same-dtype copies are cast_copy_raw) launched on the dry-run devices so far. */
    static int casts() { return DryRunDevice.launches("cast_copy"); }

    @Test
    void onADryRunCudaDeviceGemmsTakeBf16Operands() {
        Device gpu = DryRunDevice.install();
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = Creation.to(Creation.randn(1, DType.F32, 4, 8), gpu).requiresGrad(true);
            Tensor w = Creation.to(Creation.randn(2, DType.F32, 5, 8), gpu).requiresGrad(true);
            Tensor b = Creation.to(Creation.randn(3, DType.F32, 5), gpu).requiresGrad(true);
            long bf0 = DryRunDevice.gemms(DType.BF16), ep0 = DryRunDevice.biasEpilogueGemms();
            Tensor y;
            try (Autocast.Guard g = Autocast.bf16()) {
                y = Linear.linear(x, w, b);
            }
            assertEquals(DType.F32, y.dtype());
            assertEquals(gpu, y.device());
            assertTrue(DryRunDevice.gemms(DType.BF16) >= bf0 + 1, "the forward GEMM is BF16");
            assertTrue(DryRunDevice.biasEpilogueGemms() >= ep0 + 1, "the (F32) bias is added in cuBLASLt's epilogue");
            long bf1 = DryRunDevice.gemms(DType.BF16);
            Autograd.backward(Reductions.sum(y));
            assertTrue(DryRunDevice.gemms(DType.BF16) >= bf1 + 2, "both backward GEMMs are BF16");
            for (Tensor t : new Tensor[]{x, w, b}) {
                assertEquals(DType.F32, t.grad().dtype(), "F32 gradients reach the F32 parameters");
                assertEquals(gpu, t.grad().device());
            }
        }
    }

    @Test
    void aClipVitTrainingStepRunsInBf16OnADryRunCudaDevice() {
        Device gpu = DryRunDevice.install();
        ClipConfig c = ClipConfig.vit(16, 32, 1, 32, 8, 8, 10, 16, 2, 1).withHeads(2, 2);
        try (Clip clip = new Clip(c, new Init(1)); MemoryScope s = MemoryScope.open()) {
            clip.to(gpu);
            clip.train();
            Tensor pixels = Creation.to(Creation.randn(2, DType.F32, 2, 3, 32, 32), gpu);
            Tensor ids = Creation.to(Tensor.ofInts(new int[]{1, 5, 7, 2, 0, 0, 0, 0, 1, 6, 2, 0, 0, 0, 0, 0}, 2, 8), gpu);
            long bf0 = DryRunDevice.gemms(DType.BF16);
            Tensor loss;
            try (Autocast.Guard g = Autocast.bf16()) {
                ClipOutput out = clip.forward(pixels, ids);
                loss = Clip.contrastiveLoss(out.logitsPerImage());
            }
            assertEquals(DType.F32, loss.dtype());
            Autograd.backward(loss);
            assertTrue(DryRunDevice.gemms(DType.BF16) > bf0);
            for (var e : clip.namedParameters().entrySet()) {
                Tensor gr = e.getValue().grad();
                if (gr == null) continue;
                assertEquals(DType.F32, gr.dtype(), e.getKey());
                assertEquals(gpu, gr.device(), e.getKey());
            }
        }
    }
}
