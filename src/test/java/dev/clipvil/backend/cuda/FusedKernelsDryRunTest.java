package dev.clipvil.backend.cuda;

import dev.clipvil.backend.AddNormResult;
import dev.clipvil.backend.AttentionResult;
import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.backend.NormResult;
import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused-kernel launchers ({@link CudaAttention}, {@link CudaLayerNorm}, {@link CudaConv}) driven on
 * the CPU through a dry-run context: F32, BF16 and mixed (BF16 q/k/v, F32 out and gradients), tensor-core and SIMT attention at every head-dim
 * instantiation (the tensor-core backward with its dynamic shared memory at 80, 96, 128), every mask kind, layer norm with and without (F32 or BF16) parameters and the fused
 * residual, grouped conv and the layout transforms. Each launch's packed arguments are checked
 * against the kernel's parameter list in its source and its grid against CUDA's limits; the test then
 * requires every kernel these classes declare to have been launched. Output shapes and dtypes are
 * checked too; values are the GPU parity tests' business.
 */
class FusedKernelsDryRunTest {
    private static CudaContext ctx;

    @BeforeAll
    static void install() { ctx = CudaContext.installDryRun(63); }

    private static Tensor dev(DType dt, int... shape) {
        Tensor c = Tensor.empty(dt, shape);
        if (dt != DType.BOOL) CpuBackend.get().fill(c, 0.5);
        Tensor d = CudaTransfer.toDevice(c, ctx.device());
        c.close();
        return d;
    }

    private static void shape(String what, Tensor t, DType dt, int... want) {
        assertArrayEquals(want, t.shape(), what);
        assertEquals(dt, t.dtype(), what);
    }

    @Test
    void everyFusedKernelPacksWhatItsSourceDeclares() throws Exception {
        try (MemoryScope scope = MemoryScope.open()) {
            int variant = 0;
            for (int d : new int[]{32, 48, 64, 80, 96, 128}) {
                for (DType dt : new DType[]{DType.F32, DType.BF16}) {
                    for (boolean simt : new boolean[]{false, true}) {
                        Tensor q = dev(dt, 2, 3, 17, d), k = dev(dt, 2, 3, 21, d), v = dev(dt, 2, 3, 21, d), go = dev(dt, 2, 3, 17, d);
                        Tensor mask;
                        switch (variant++ % 4) {
                            case 0: mask = null; break;
                            case 1: mask = dev(DType.F32, 1, 1, 17, 21); break;
                            case 2: mask = dev(DType.BOOL, 2, 1, 1, 21); break;
                            default: mask = dev(DType.BF16, 2, 3, 17, 21); break;
                        }
                        boolean causal = variant % 3 == 0;
                        AttentionResult r = CudaAttention.forward(ctx, q, k, v, mask, causal, 0.125, simt);
                        shape("attention out", r.out(), dt, 2, 3, 17, d);
                        shape("attention lse", r.lse(), DType.F32, 2, 3, 17);
                        Tensor[] g = CudaAttention.backward(ctx, go, q, k, v, r.out(), r.lse(), mask, causal, 0.125, simt);
                        shape("gq", g[0], dt, 2, 3, 17, d);
                        shape("gk", g[1], dt, 2, 3, 21, d);
                        shape("gv", g[2], dt, 2, 3, 21, d);
                        if (dt == DType.BF16) {  // mixed precision: BF16 q/k/v, F32 out, gOut and gradients
                            AttentionResult m = CudaAttention.forward(ctx, q, k, v, mask, causal, 0.125, simt, DType.F32);
                            shape("mixed out", m.out(), DType.F32, 2, 3, 17, d);
                            // the output gradient as it arrives from a permuted output: [2, 17, 3, d] storage viewed as [2, 3, 17, d]
                            Tensor gp = dev(DType.F32, 2, 17, 3, d);
                            Tensor gof = gp.asStrided(new int[]{2, 3, 17, d}, new int[]{17 * 3 * d, d, 3 * d, 1}, gp.offset());
                            Tensor[] mg = CudaAttention.backward(ctx, gof, q, k, v, m.out(), m.lse(), mask, causal, 0.125, simt, DType.F32);
                            shape("mixed gq", mg[0], DType.F32, 2, 3, 17, d);
                            shape("mixed gk", mg[1], DType.F32, 2, 3, 21, d);
                            shape("mixed gv", mg[2], DType.F32, 2, 3, 21, d);
                        }
                    }
                }
            }

            for (DType dt : new DType[]{DType.F32, DType.BF16}) {
                Tensor x = dev(dt, 6, 40), r = dev(dt, 6, 40), gy = dev(dt, 6, 40);
                for (DType pt : new DType[]{DType.F32, DType.BF16}) {
                    Tensor w = dev(pt, 40), b = dev(pt, 40);
                    NormResult n = CudaLayerNorm.forward(ctx, x, w, b, 1e-5);
                    shape("ln out", n.out(), dt, 6, 40);
                    shape("ln mean", n.mean(), DType.F32, 6);
                    Tensor[] g = CudaLayerNorm.backward(ctx, gy, x, w, n.mean(), n.rstd());
                    shape("ln gx", g[0], dt, 6, 40);
                    shape("ln gw", g[1], pt, 40);
                    shape("ln gb", g[2], pt, 40);
                    AddNormResult res = CudaLayerNorm.forwardResidual(ctx, x, r, w, b, 1e-5);
                    shape("ln residual out", res.out(), dt, 6, 40);
                    shape("ln residual sum", res.sum(), dt, 6, 40);
                    shape("ln residual rstd", res.rstd(), DType.F32, 6);
                }
                NormResult n = CudaLayerNorm.forward(ctx, x, null, null, 1e-5);
                Tensor[] g = CudaLayerNorm.backward(ctx, gy, x, null, n.mean(), n.rstd());
                assertEquals(null, g[1]);

                Conv2dParams p = new Conv2dParams(2, 1, 1, 0, 1, 2, 2);
                Tensor cx = dev(dt, 2, 4, 9, 10), cw = dev(dt, 6, 2, 3, 3), cb = dev(dt, 6);
                int[] ys = {2, 6, p.outH(9, 3), p.outW(10, 3)};
                Tensor y = CudaConv.forward(ctx, cx, cw, cb, p);
                shape("conv y", y, dt, ys);
                shape("conv gx", CudaConv.backwardInput(ctx, dev(dt, ys), cw, cx.shape(), p), dt, 2, 4, 9, 10);
                shape("conv gw", CudaConv.backwardWeight(ctx, dev(dt, ys), cx, cw.shape(), p), dt, 6, 2, 3, 3);
                Tensor nhwc = CudaConv.nchwToNhwc(ctx, cx);
                shape("nhwc", nhwc, dt, 2, 9, 10, 4);
                shape("nchw", CudaConv.nhwcToNchw(ctx, nhwc), dt, 2, 4, 9, 10);
            }
        }

        Map<String, Integer> launched = DryRun.launches();
        List<String> missing = new ArrayList<>();
        for (Kernel k : declared()) if (!launched.containsKey(k.toString())) missing.add(k.toString());
        assertTrue(missing.isEmpty(), "never launched in the dry run: " + missing);
    }

    /**
     * {@link CudaAttention#forwardInto} an [N, S, E] output (heads merged) and {@link CudaAttention#backwardInto}
     * the q, k, v slots of one packed [N, S, 3E] gradient from an [N, S, E] output gradient, in every
     * mode (F32; BF16 tensor cores and SIMT; mixed tensor cores and SIMT) and at a static- and a
     * dynamic-shared-memory head dim: the kernels take all those strides, so no raw copy runs, and the
     * only conversion is the BF16 run's gq = bf16(F32 buffer), written into its slot by one cast copy.
     */
    @Test
    void stridedOutputAndGradientsWithoutCopies() {
        int n = 2, h = 3, s = 19;
        try (MemoryScope scope = MemoryScope.open()) {
            for (int d : new int[]{32, 80}) {
                int e = h * d;
                for (DType dt : new DType[]{DType.F32, DType.BF16}) {
                    Tensor packed = dev(dt, n, s, 3 * e);
                    Tensor[] in = slots(packed, h);
                    Tensor go = dev(dt, n, h, s, d);
                    for (boolean simt : new boolean[]{false, true}) {
                        for (DType gt : dt == DType.F32 ? new DType[]{DType.F32} : new DType[]{DType.BF16, DType.F32}) {
                            String what = dt + " -> " + gt + " d" + d + (simt ? " simt" : "");
                            // forward into the [N, H, S, D] view of an [N, S, E] output (heads merged), no copy
                            Tensor merged = CudaOps.empty(ctx, gt, n, s, e);
                            Tensor outView = heads(merged, h);
                            int raw0 = count("cast_copy_raw"), cast0 = count("cast_copy");
                            Tensor lse = CudaAttention.forwardInto(ctx, in[0], in[1], in[2], null, true, 0.125, simt, outView);
                            shape(what + " lse", lse, DType.F32, n, h, s);
                            assertEquals(0, count("cast_copy_raw") - raw0 + count("cast_copy") - cast0, what + ": forward copies");
                            // backward: gOut [N, S, E] and out read through their strides, gradients into packed slots
                            Tensor gp = dev(gt, n, s, e);
                            Tensor gof = heads(gp, h);
                            Tensor gpacked = CudaOps.empty(ctx, gt, n, s, 3 * e);
                            Tensor[] g = slots(gpacked, h);
                            int raw = count("cast_copy_raw"), cast = count("cast_copy");
                            CudaAttention.backwardInto(ctx, gof, in[0], in[1], in[2], outView, lse, null, true, 0.125, simt, g[0], g[1], g[2]);
                            assertEquals(0, count("cast_copy_raw") - raw, what + ": no raw copy");
                            assertEquals(gt == DType.BF16 ? 1 : 0, count("cast_copy") - cast, what + ": casts");
                        }
                    }
                }
            }
            // wrong destination shapes are refused with the op's name
            Tensor q = dev(DType.F32, 1, 2, 5, 32), go = dev(DType.F32, 1, 2, 5, 32);
            AttentionResult r = CudaAttention.forward(ctx, q, q, q, null, false, 0.125);
            Tensor bad = dev(DType.F32, 1, 2, 6, 32);
            RuntimeException ex = assertThrows(RuntimeException.class,
                    () -> CudaAttention.backwardInto(ctx, go, q, q, q, r.out(), r.lse(), null, false, 0.125, false, bad, q, q));
            assertTrue(ex.getMessage().contains("attention_backward"), ex.getMessage());
        }
    }

    private static int count(String kernel) {
        int c = 0;
        for (var en : DryRun.launches().entrySet()) if (en.getKey().endsWith("/" + kernel)) c += en.getValue();
        return c;
    }

    /** The [N, H, S, D] view of an [N, S, H x D] tensor (strides {S*E, D, E, 1}). */
    private static Tensor heads(Tensor t, int heads) {
        int n = t.shape(0), s = t.shape(1), e = t.shape(2), d = e / heads;
        return t.asStrided(new int[]{n, heads, s, d}, new int[]{s * e, d, e, 1}, t.offset());
    }

    /** The q, k, v [N, H, S, D] views of a packed [N, S, 3E] tensor (strides {S*3E, D, 3E, 1}). */
    private static Tensor[] slots(Tensor p, int heads) {
        int n = p.shape(0), s = p.shape(1), e = p.shape(2) / 3, d = e / heads;
        int[] shape = {n, heads, s, d}, st = {s * 3 * e, d, 3 * e, 1};
        return new Tensor[]{p.asStrided(shape, st, p.offset()), p.asStrided(shape, st, p.offset() + e), p.asStrided(shape, st, p.offset() + 2 * e)};
    }

    /** A launch asking for more dynamic shared memory than its kernel opts in to is refused before it reaches CUDA. */
    @Test
    void sharedMemoryAboveTheOptInIsRefused() {
        Kernel d128 = CudaAttention.BWD_BF16_TC[4], d32 = CudaAttention.BWD_BF16_TC[0];
        CudaException e = assertThrows(CudaException.class,
                () -> KernelLaunch.launch(ctx, d128, 1, 1, 1, 128, 1, 1, d128.maxDynamicShared() + 16, KernelArgs.begin()));
        assertTrue(e.getMessage().contains("clipvil_attn_bwd_bf16tc_d128"), e.getMessage());
        assertThrows(CudaException.class,
                () -> KernelLaunch.launch(ctx, d32, 1, 1, 1, 128, 1, 1, Kernel.DEFAULT_DYNAMIC_SHARED + 1, KernelArgs.begin()));
    }

    /** Every Kernel constant and table of the three launcher classes. */
    private static List<Kernel> declared() throws Exception {
        List<Kernel> ks = new ArrayList<>();
        for (Class<?> c : new Class<?>[]{CudaAttention.class, CudaLayerNorm.class, CudaConv.class}) {
            for (Field f : c.getDeclaredFields()) {
                if (!Modifier.isStatic(f.getModifiers())) continue;
                f.setAccessible(true);
                if (f.getType() == Kernel[].class) for (Kernel k : (Kernel[]) f.get(null)) ks.add(k);
                else if (f.getType() == Kernel.class) ks.add((Kernel) f.get(null));
            }
        }
        assertEquals(25 + 5 + 2 + 20 + 1 + 9 + 8, ks.size());
        return ks;
    }
}
