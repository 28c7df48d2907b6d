package dev.clipvil.backend.cpu;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;

/**
 * F64 conv2d by direct loops. F64 serves finite-difference gradient checks on small shapes, so this
 * favours plain correctness; each pass is parallel over a dimension whose outputs do not overlap.
 * All tensors passed in are contiguous.
 */
final class ConvF64 {
    private ConvF64() {}

    static Tensor forward(Tensor x, Tensor w, double[] bias, int biasOff, int biasStride, ConvGeometry g) {
        Tensor out = Tensor.empty(DType.F64, g.outputShape());
        double[] xs = Cpu.f64(x), ws = Cpu.f64(w), ys = Cpu.f64(out);
        int xo = x.offset(), wo = w.offset();
        Parallel.forRange(g.n() * g.k(), 1, (r0, r1) -> {
            for (int nk = r0; nk < r1; nk++) {
                int img = nk / g.k(), k = nk % g.k(), grp = k / g.kg();
                double b = bias == null ? 0 : bias[biasOff + k * biasStride];
                for (int oh = 0; oh < g.oh(); oh++) {
                    for (int ow = 0; ow < g.ow(); ow++) {
                        double s = b;
                        for (int c = 0; c < g.cg(); c++) {
                            int xc = xo + (img * g.c() + grp * g.cg() + c) * g.hw();
                            int wc = wo + (k * g.cg() + c) * g.r() * g.s();
                            for (int i = 0; i < g.r(); i++) {
                                int ih = oh * g.strideH() - g.padH() + i * g.dilH();
                                if (ih < 0 || ih >= g.h()) continue;
                                for (int j = 0; j < g.s(); j++) {
                                    int iw = ow * g.strideW() - g.padW() + j * g.dilW();
                                    if (iw < 0 || iw >= g.w()) continue;
                                    s += xs[xc + ih * g.w() + iw] * ws[wc + i * g.s() + j];
                                }
                            }
                        }
                        ys[(nk * g.oh() + oh) * g.ow() + ow] = s;
                    }
                }
            }
        });
        return out;
    }

    static Tensor backwardInput(Tensor gy, Tensor w, ConvGeometry g) {
        Tensor gx = Tensor.empty(DType.F64, g.inputShape());
        double[] gys = Cpu.f64(gy), ws = Cpu.f64(w), gxs = Cpu.f64(gx);
        java.util.Arrays.fill(gxs, 0);
        int gyo = gy.offset(), wo = w.offset();
        Parallel.forRange(g.n(), 1, (n0, n1) -> {
            for (int img = n0; img < n1; img++) {
                for (int k = 0; k < g.k(); k++) {
                    int grp = k / g.kg();
                    for (int oh = 0; oh < g.oh(); oh++) {
                        for (int ow = 0; ow < g.ow(); ow++) {
                            double gv = gys[gyo + ((img * g.k() + k) * g.oh() + oh) * g.ow() + ow];
                            for (int c = 0; c < g.cg(); c++) {
                                int xc = (img * g.c() + grp * g.cg() + c) * g.hw();
                                int wc = wo + (k * g.cg() + c) * g.r() * g.s();
                                for (int i = 0; i < g.r(); i++) {
                                    int ih = oh * g.strideH() - g.padH() + i * g.dilH();
                                    if (ih < 0 || ih >= g.h()) continue;
                                    for (int j = 0; j < g.s(); j++) {
                                        int iw = ow * g.strideW() - g.padW() + j * g.dilW();
                                        if (iw < 0 || iw >= g.w()) continue;
                                        gxs[xc + ih * g.w() + iw] += gv * ws[wc + i * g.s() + j];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        });
        return gx;
    }

    static Tensor backwardWeight(Tensor gy, Tensor x, ConvGeometry g) {
        Tensor gw = Tensor.empty(DType.F64, g.weightShape());
        double[] gys = Cpu.f64(gy), xs = Cpu.f64(x), gws = Cpu.f64(gw);
        int gyo = gy.offset(), xo = x.offset();
        int rs = g.r() * g.s();
        Parallel.forRange(g.k(), 1, (k0, k1) -> {
            for (int k = k0; k < k1; k++) {
                int grp = k / g.kg();
                for (int c = 0; c < g.cg(); c++) {
                    for (int i = 0; i < g.r(); i++) {
                        for (int j = 0; j < g.s(); j++) {
                            double s = 0;
                            for (int img = 0; img < g.n(); img++) {
                                int xc = xo + (img * g.c() + grp * g.cg() + c) * g.hw();
                                int gk = gyo + (img * g.k() + k) * g.pixels();
                                for (int oh = 0; oh < g.oh(); oh++) {
                                    int ih = oh * g.strideH() - g.padH() + i * g.dilH();
                                    if (ih < 0 || ih >= g.h()) continue;
                                    for (int ow = 0; ow < g.ow(); ow++) {
                                        int iw = ow * g.strideW() - g.padW() + j * g.dilW();
                                        if (iw < 0 || iw >= g.w()) continue;
                                        s += gys[gk + oh * g.ow() + ow] * xs[xc + ih * g.w() + iw];
                                    }
                                }
                            }
                            gws[(k * g.cg() + c) * rs + i * g.s() + j] = s;
                        }
                    }
                }
            }
        });
        return gw;
    }
}
