package dev.clipvil.backend.cpu;

import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;

import java.util.Arrays;

/**
 * F32 conv2d as GEMMs on the blocked kernel, one per (image, group):
 * <ul>
 * <li>forward: {@code y[k, pixel] = W[k, tap] x col[tap, pixel] + bias[k]}. The B operand (col) is
 * packed straight from the input: a 1x1 unpadded stride-1 input already is col; other stride-1
 * convolutions pack from a zero-padded copy ({@link PaddedRows}); the rest decode taps per pixel
 * ({@link Im2colPanels}).</li>
 * <li>input gradient: for stride 1 it is the forward convolution of gy with the flipped, transposed
 * weight; otherwise {@code col = W^T x gy} followed by col2im.</li>
 * <li>weight gradient: {@code gW[k, tap] += gy[k, pixel] x col^T[pixel, tap]}, col^T packed implicitly.</li>
 * </ul>
 * Images run in parallel when there are enough of them; otherwise each GEMM splits its own blocks.
 * All tensors passed in are contiguous.
 */
final class ConvF32 {
    private ConvF32() {}

    /** Work items run one per task when there are at least this many per thread. */
    private static boolean outerParallel(int items) { return items >= 2 * Parallel.threads(); }

    private static boolean pointwise(ConvGeometry g) {
        return g.r() == 1 && g.s() == 1 && g.strideH() == 1 && g.strideW() == 1 && g.padH() == 0 && g.padW() == 0;
    }

    static Tensor forward(Tensor x, Tensor w, float[] bias, int biasOff, ConvGeometry g) {
        Tensor out = Tensor.empty(DType.F32, g.outputShape());
        forward(Cpu.f32(x), x.offset(), Cpu.f32(w), w.offset(), bias, biasOff, g, Cpu.f32(out));
        return out;
    }

    /** The forward pass on raw arrays: x at {@code xo}, weight at {@code wo}, into the contiguous {@code ys}. */
    private static void forward(float[] xs, int xo, float[] ws, int wo, float[] bias, int biasOff, ConvGeometry g, float[] ys) {
        int kg = g.kg(), taps = g.taps(), pixels = g.pixels();
        int items = g.n() * g.groups();
        boolean outer = outerParallel(items);
        boolean padded = !pointwise(g) && PaddedRows.applies(g);
        int[] tapOff = padded ? PaddedRows.tapOffsets(g) : null;
        run(items, outer, it -> {
            int img = it / g.groups(), grp = it % g.groups();
            int xb = xo + (img * g.c() + grp * g.cg()) * g.hw();
            int yb = (img * g.k() + grp * kg) * pixels;
            PanelSource a = new StridedPanels(ws, wo + grp * kg * taps, taps, 1);
            if (padded) {
                ConvBuffers buf = ConvBuffers.get();
                float[] xp = buf.padded(PaddedRows.paddedLength(g));
                PaddedRows.pad(xs, xb, g, xp);
                int n = g.oh() * PaddedRows.paddedW(g);
                float[] wide = buf.wide(kg * n);
                GemmF32.Output dst = new GemmF32.Output(wide, 0, n, false, null, 0, bias, biasOff + grp * kg);
                GemmF32.gemm(kg, n, taps, a, new ShiftedPanels(xp, tapOff), dst, !outer);
                PaddedRows.compact(wide, g, kg, ys, yb);
                return;
            }
            PanelSource b = pointwise(g) ? new StridedPanels(xs, xb, 1, g.hw()) : new Im2colPanels(xs, xb, g);
            GemmF32.Output dst = new GemmF32.Output(ys, yb, pixels, false, null, 0, bias, biasOff + grp * kg);
            GemmF32.gemm(kg, pixels, taps, a, b, dst, !outer);
        });
    }

    static Tensor backwardInput(Tensor gy, Tensor w, ConvGeometry g) {
        Tensor gx = Tensor.empty(DType.F32, g.inputShape());
        float[] gys = Cpu.f32(gy), ws = Cpu.f32(w), gxs = Cpu.f32(gx);
        int gyo = gy.offset(), wo = w.offset();
        int extraH = g.dilH() * (g.r() - 1) - g.padH(), extraW = g.dilW() * (g.s() - 1) - g.padW();
        if (g.strideH() == 1 && g.strideW() == 1 && extraH >= 0 && extraW >= 0) {
            // gx = conv(gy, W'), W'[c][k][i][j] = W[k][c][r-1-i][s-1-j] per group, padding dil*(r-1) - pad
            ConvGeometry t = ConvGeometry.of("conv2d_backward_input", g.outputShape(), new int[]{g.c(), g.kg(), g.r(), g.s()},
                    new Conv2dParams(1, 1, extraH, extraW, g.dilH(), g.dilW(), g.groups()));
            forward(gys, gyo, flipTransposed(ws, wo, g), 0, null, 0, t, gxs);
            return gx;
        }
        int kg = g.kg(), taps = g.taps(), pixels = g.pixels();
        int items = g.n() * g.groups();
        boolean outer = outerParallel(items);
        run(items, outer, it -> {
            int img = it / g.groups(), grp = it % g.groups();
            int xb = (img * g.c() + grp * g.cg()) * g.hw();
            PanelSource a = new StridedPanels(ws, wo + grp * kg * taps, 1, taps);                        // W^T: [tap, k]
            PanelSource b = new StridedPanels(gys, gyo + (img * g.k() + grp * kg) * pixels, 1, pixels); // gy: [k, pixel]
            float[] col = ConvBuffers.get().col(taps * pixels);
            GemmF32.gemm(taps, pixels, kg, a, b, GemmF32.Output.of(col, 0, pixels), !outer);
            Arrays.fill(gxs, xb, xb + g.cg() * g.hw(), 0f);
            Col2im.add(col, g, gxs, xb);
        });
        return gx;
    }

    /** The weight of the transposed convolution: [c][k within group][r-1-i][s-1-j], groups kept in order. */
    private static float[] flipTransposed(float[] ws, int wo, ConvGeometry g) {
        int kg = g.kg(), cg = g.cg(), r = g.r(), s = g.s(), rs = r * s;
        float[] t = new float[g.c() * kg * rs];
        for (int grp = 0; grp < g.groups(); grp++) {
            for (int k = 0; k < kg; k++) {
                for (int c = 0; c < cg; c++) {
                    int src = wo + ((grp * kg + k) * cg + c) * rs, dst = ((grp * cg + c) * kg + k) * rs;
                    for (int i = 0; i < rs; i++) t[dst + rs - 1 - i] = ws[src + i];
                }
            }
        }
        return t;
    }

    static Tensor backwardWeight(Tensor gy, Tensor x, ConvGeometry g) {
        Tensor gw = Tensor.empty(DType.F32, g.weightShape());
        float[] gys = Cpu.f32(gy), xs = Cpu.f32(x), gws = Cpu.f32(gw);
        Arrays.fill(gws, 0f);
        int gyo = gy.offset(), xo = x.offset();
        int kg = g.kg(), taps = g.taps(), pixels = g.pixels(), size = gws.length;
        int parts = outerParallel(g.n()) ? Parallel.threads() : 1;
        // one slice of the images per thread, each summed into its own buffer, then the buffers added up
        Parallel.RangeBody body = (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                float[] acc = gws;
                if (parts > 1) {
                    acc = ConvBuffers.get().partial(size);
                    Arrays.fill(acc, 0, size, 0f);
                }
                for (int img = g.n() * t / parts; img < g.n() * (t + 1) / parts; img++) {
                    for (int grp = 0; grp < g.groups(); grp++) {
                        int xb = xo + (img * g.c() + grp * g.cg()) * g.hw();
                        PanelSource a = new StridedPanels(gys, gyo + (img * g.k() + grp * kg) * pixels, pixels, 1); // gy: [k, pixel]
                        PanelSource b = pointwise(g) ? new StridedPanels(xs, xb, g.hw(), 1) : new PatchPanels(xs, xb, g);
                        GemmF32.Output dst = new GemmF32.Output(acc, grp * kg * taps, taps, true, null, 0, null, 0);
                        GemmF32.gemm(kg, taps, pixels, a, b, dst, parts == 1);
                    }
                }
                if (parts > 1) {
                    synchronized (gws) {
                        for (int i = 0; i < size; i++) gws[i] += acc[i];
                    }
                }
            }
        };
        if (parts > 1) Parallel.forRange(parts, 1, body);
        else body.run(0, 1);
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
