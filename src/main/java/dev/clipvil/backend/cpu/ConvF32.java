package dev.clipvil.backend.cpu;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;

import java.util.Arrays;

/**
 * F32 conv2d as GEMMs on the blocked kernel, one per (image, group):
 * <ul>
 * <li>forward: {@code y[k, pixel] = W[k, tap] x col[tap, pixel] + bias[k]}, col packed implicitly from x;</li>
 * <li>input gradient: {@code col = W^T x gy}, then col2im (the column buffer is per thread and reused);</li>
 * <li>weight gradient: {@code gW[k, tap] += gy[k, pixel] x col^T[pixel, tap]}, col^T packed implicitly.</li>
 * </ul>
 * A 1x1, stride 1, unpadded convolution needs no im2col at all: the input is the column matrix.
 * Images run in parallel when there are enough of them; otherwise each GEMM splits its own blocks.
 * All tensors passed in are contiguous.
 */
final class ConvF32 {
    private ConvF32() {}

    private static final ThreadLocal<float[][]> COL = ThreadLocal.withInitial(() -> new float[1][0]);

    private static float[] colBuffer(int n) {
        float[][] h = COL.get();
        if (h[0].length < n) h[0] = new float[n];
        return h[0];
    }

    /** Work items run one per task when there are at least this many per thread. */
    private static boolean outerParallel(int items) { return items >= 2 * Parallel.threads(); }

    private static boolean pointwise(ConvGeometry g) {
        return g.r() == 1 && g.s() == 1 && g.strideH() == 1 && g.strideW() == 1 && g.padH() == 0 && g.padW() == 0;
    }

    static Tensor forward(Tensor x, Tensor w, float[] bias, int biasOff, ConvGeometry g) {
        Tensor out = Tensor.empty(DType.F32, g.outputShape());
        float[] xs = Cpu.f32(x), ws = Cpu.f32(w), ys = Cpu.f32(out);
        int xo = x.offset(), wo = w.offset();
        int kg = g.kg(), taps = g.taps(), pixels = g.pixels();
        int items = g.n() * g.groups();
        boolean outer = outerParallel(items);
        run(items, outer, it -> {
            int img = it / g.groups(), grp = it % g.groups();
            int xb = xo + (img * g.c() + grp * g.cg()) * g.hw();
            PanelSource a = new StridedPanels(ws, wo + grp * kg * taps, taps, 1);
            PanelSource b = pointwise(g) ? new StridedPanels(xs, xb, 1, g.hw()) : new Im2colPanels(xs, xb, g);
            GemmF32.Output dst = new GemmF32.Output(ys, (img * g.k() + grp * kg) * pixels, pixels, false, null, 0, bias, biasOff + grp * kg);
            GemmF32.gemm(kg, pixels, taps, a, b, dst, !outer);
        });
        return out;
    }

    static Tensor backwardInput(Tensor gy, Tensor w, ConvGeometry g) {
        Tensor gx = Tensor.empty(DType.F32, g.inputShape());
        float[] gys = Cpu.f32(gy), ws = Cpu.f32(w), gxs = Cpu.f32(gx);
        int gyo = gy.offset(), wo = w.offset();
        int kg = g.kg(), taps = g.taps(), pixels = g.pixels();
        int items = g.n() * g.groups();
        boolean outer = outerParallel(items);
        run(items, outer, it -> {
            int img = it / g.groups(), grp = it % g.groups();
            int xb = (img * g.c() + grp * g.cg()) * g.hw();
            PanelSource a = new StridedPanels(ws, wo + grp * kg * taps, 1, taps);          // W^T: [tap, k]
            PanelSource b = new StridedPanels(gys, gyo + (img * g.k() + grp * kg) * pixels, 1, pixels); // gy: [k, pixel]
            if (pointwise(g)) {
                GemmF32.gemm(taps, pixels, kg, a, b, GemmF32.Output.of(gxs, xb, pixels), !outer);
                return;
            }
            float[] col = colBuffer(taps * pixels);
            GemmF32.gemm(taps, pixels, kg, a, b, GemmF32.Output.of(col, 0, pixels), !outer);
            Arrays.fill(gxs, xb, xb + g.cg() * g.hw(), 0f);
            Col2im.add(col, g, gxs, xb);
        });
        return gx;
    }

    static Tensor backwardWeight(Tensor gy, Tensor x, ConvGeometry g) {
        Tensor gw = Tensor.empty(DType.F32, g.weightShape());
        float[] gys = Cpu.f32(gy), xs = Cpu.f32(x), gws = Cpu.f32(gw);
        Arrays.fill(gws, 0f);
        int gyo = gy.offset(), xo = x.offset();
        int kg = g.kg(), taps = g.taps(), pixels = g.pixels(), size = gws.length;
        boolean outer = outerParallel(g.n());
        Parallel.RangeBody body = (i0, i1) -> {
            float[] acc = outer ? new float[size] : gws;
            for (int img = i0; img < i1; img++) {
                for (int grp = 0; grp < g.groups(); grp++) {
                    int xb = xo + (img * g.c() + grp * g.cg()) * g.hw();
                    PanelSource a = new StridedPanels(gys, gyo + (img * g.k() + grp * kg) * pixels, pixels, 1); // gy: [k, pixel]
                    PanelSource b = pointwise(g) ? new StridedPanels(xs, xb, g.hw(), 1) : new PatchPanels(xs, xb, g);
                    GemmF32.Output dst = new GemmF32.Output(acc, grp * kg * taps, taps, true, null, 0, null, 0);
                    GemmF32.gemm(kg, taps, pixels, a, b, dst, !outer);
                }
            }
            if (outer) {
                synchronized (gws) {
                    for (int i = 0; i < size; i++) gws[i] += acc[i];
                }
            }
        };
        if (outer) Parallel.forRange(g.n(), 1, body);
        else body.run(0, g.n());
        return gw;
    }

    private interface Item {
        void run(int index);
    }

    private static void run(int items, boolean outer, Item item) {
        if (outer) {
            Parallel.forRange(items, 1, (i0, i1) -> {
                for (int i = i0; i < i1; i++) item.run(i);
            });
        } else {
            for (int i = 0; i < items; i++) item.run(i);
        }
    }
}
