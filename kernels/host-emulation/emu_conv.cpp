// Runs kernels/conv.cu on the host emulator (or, built by nvcc, on the GPU) against a double-precision
// reference.
#include "emu.h"
#include "../conv.cu"

struct Case {
    int N, C, H, W, K, R, S, sh, sw, ph, pw, dh, dw, G;
    int P() const { return (H + 2 * ph - dh * (R - 1) - 1) / sh + 1; }
    int Q() const { return (W + 2 * pw - dw * (S - 1) - 1) / sw + 1; }
};

static void run(const Case& c) {
    int Cg = c.C / c.G, Kg = c.K / c.G, P = c.P(), Q = c.Q();
    size_t nx = (size_t)c.N * c.C * c.H * c.W, nw = (size_t)c.K * Cg * c.R * c.S, ny = (size_t)c.N * c.K * P * Q;
    for (int bf = 0; bf < 2; bf++) {
        bool bf16 = bf == 1;
        auto x = emu_random(nx, 1 + c.C, -1, 1, bf16), w = emu_random(nw, 2 + c.K, -1, 1, bf16), gy = emu_random(ny, 3, -1, 1, bf16);
        auto bias = emu_random(c.K, 4, -1, 1, false);
        std::vector<double> y(ny, 0), gx(nx, 0), gw(nw, 0);
        for (int n = 0; n < c.N; n++)
            for (int k = 0; k < c.K; k++) {
                int gi = k / Kg;
                for (int p = 0; p < P; p++)
                    for (int q = 0; q < Q; q++) {
                        size_t yo = (((size_t)n * c.K + k) * P + p) * Q + q;
                        double acc = bias[k];
                        for (int ci = 0; ci < Cg; ci++)
                            for (int r = 0; r < c.R; r++)
                                for (int s = 0; s < c.S; s++) {
                                    int h = p * c.sh - c.ph + r * c.dh, ww = q * c.sw - c.pw + s * c.dw;
                                    if (h < 0 || h >= c.H || ww < 0 || ww >= c.W) continue;
                                    size_t xo = (((size_t)n * c.C + gi * Cg + ci) * c.H + h) * c.W + ww;
                                    size_t wo = (((size_t)k * Cg + ci) * c.R + r) * c.S + s;
                                    acc += (double)x[xo] * w[wo];
                                    gx[xo] += (double)gy[yo] * w[wo];
                                    gw[wo] += (double)gy[yo] * x[xo];
                                }
                        y[yo] = acc;
                    }
            }
        char name[160];
        auto L = [&](const char* t) {
            std::snprintf(name, sizeof name, "%s %s N%d C%d %dx%d K%d %dx%d s%d,%d p%d,%d d%d,%d g%d", bf16 ? "bf16" : "f32", t, c.N, c.C, c.H, c.W,
                          c.K, c.R, c.S, c.sh, c.sw, c.ph, c.pw, c.dh, c.dw, c.G);
            return name;
        };
        unsigned mt = (unsigned)((c.N * P * Q + 63) / 64);
        if (!bf16) {
            vec<float> yo(ny, NAN), gxo(nx, NAN), gwo(nw, NAN), gws(nw, 0.f);
            LAUNCH(clipvil_conv2d_fwd_nchw_f32, dim3(mt, (unsigned)((Kg + 63) / 64), (unsigned)c.G), dim3(256, 1, 1), x.data(), w.data(), bias.data(), yo.data(), c.N, c.C, c.H, c.W, c.K, c.R, c.S, P, Q, c.sh, c.sw, c.ph,
                                            c.pw, c.dh, c.dw, c.G);
            LAUNCH(clipvil_conv2d_bwd_input_nchw_f32, dim3((unsigned)((c.N * c.H * c.W + 63) / 64), (unsigned)((Cg + 63) / 64), (unsigned)c.G), dim3(256, 1, 1), gy.data(), w.data(), gxo.data(), c.N, c.C, c.H, c.W, c.K, c.R, c.S, P, Q, c.sh, c.sw, c.ph, c.pw,
                                                  c.dh, c.dw, c.G);
            unsigned wx = (unsigned)((Kg + 63) / 64), wy = (unsigned)((Cg * c.R * c.S + 63) / 64);
            LAUNCH(clipvil_conv2d_bwd_weight_nchw_f32, dim3(wx, wy, (unsigned)c.G), dim3(256, 1, 1), gy.data(), x.data(), gwo.data(), 1, c.N, c.C, c.H, c.W, c.K, c.R, c.S, P, Q, c.sh, c.sw, c.ph,
                                                   c.pw, c.dh, c.dw, c.G);
            int splits = 3;
            LAUNCH(clipvil_conv2d_bwd_weight_nchw_f32, dim3(wx, wy, (unsigned)(c.G * splits)), dim3(256, 1, 1), gy.data(), x.data(), gws.data(), splits, c.N, c.C, c.H, c.W, c.K, c.R, c.S, P, Q, c.sh, c.sw,
                                                   c.ph, c.pw, c.dh, c.dw, c.G);
            emu_check(L("y"), yo, y, 1e-5);
            emu_check(L("gx"), gxo, gx, 1e-5);
            emu_check(L("gw"), gwo, gw, 1e-5);
            emu_check(L("gw split3"), gws, gw, 1e-5);
        } else {
            auto xb = emu_bits(x), wb = emu_bits(w);
            vec<bf16_t> xn(nx, 0x7fc0), wn(nw, 0x7fc0), yn(ny, 0x7fc0), yb(ny, 0x7fc0);
            int HW = c.H * c.W, RS = c.R * c.S, PQ = P * Q;
            LAUNCH(clipvil_transpose_batched_bf16, dim3((unsigned)((HW + 31) / 32), (unsigned)((c.C + 31) / 32), (unsigned)c.N), dim3(32, 8, 1), xb.data(), xn.data(), c.N, c.C, HW);
            LAUNCH(clipvil_transpose_batched_bf16, dim3((unsigned)((RS + 31) / 32), (unsigned)((Cg + 31) / 32), (unsigned)c.K), dim3(32, 8, 1), wb.data(), wn.data(), c.K, Cg, RS);
            LAUNCH(clipvil_conv2d_fwd_nhwc_bf16, dim3(mt, (unsigned)((Kg + 63) / 64), (unsigned)c.G), dim3(128, 1, 1), xn.data(), wn.data(), bias.data(), yn.data(), c.N, c.C, c.H, c.W, c.K, c.R, c.S, P, Q, c.sh, c.sw, c.ph,
                                             c.pw, c.dh, c.dw, c.G);
            LAUNCH(clipvil_transpose_batched_bf16, dim3((unsigned)((c.K + 31) / 32), (unsigned)((PQ + 31) / 32), (unsigned)c.N), dim3(32, 8, 1), yn.data(), yb.data(), c.N, PQ, c.K);
            emu_check(L("y nhwc-tc"), emu_floats(yb), y, 2e-2);

            // gradients: gy NCHW -> NHWC; weight KCRS -> per group [Cg][R][S][Kg]; gx NHWC -> NCHW
            auto gyb = emu_bits(gy);
            vec<bf16_t> gyn(ny, 0x7fc0), wt(nw, 0x7fc0), gxn(nx, 0x7fc0), gxb(nx, 0x7fc0);
            LAUNCH(clipvil_transpose_batched_bf16, dim3((unsigned)((PQ + 31) / 32), (unsigned)((c.K + 31) / 32), (unsigned)c.N), dim3(32, 8, 1), gyb.data(), gyn.data(), c.N, c.K, PQ);
            LAUNCH(clipvil_transpose_batched_bf16, dim3((unsigned)((Cg * RS + 31) / 32), (unsigned)((Kg + 31) / 32), (unsigned)c.G), dim3(32, 8, 1), wb.data(), wt.data(), c.G, Kg, Cg * RS);
            int Hc = (c.H + c.sh - 1) / c.sh, Wc = (c.W + c.sw - 1) / c.sw;
            LAUNCH(clipvil_conv2d_bwd_input_nhwc_bf16, dim3((unsigned)((c.N * Hc * Wc + 63) / 64), (unsigned)((Cg + 63) / 64), (unsigned)(c.G * c.sh * c.sw)), dim3(128, 1, 1),
                   gyn.data(), wt.data(), gxn.data(), c.N, c.C, c.H, c.W, c.K, c.R, c.S, P, Q, c.sh, c.sw, c.ph, c.pw, c.dh, c.dw, c.G);
            LAUNCH(clipvil_transpose_batched_bf16, dim3((unsigned)((c.C + 31) / 32), (unsigned)((HW + 31) / 32), (unsigned)c.N), dim3(32, 8, 1), gxn.data(), gxb.data(), c.N, HW, c.C);
            emu_check(L("gx nhwc-tc"), emu_floats(gxb), gx, 2e-2);

            unsigned wx = (unsigned)((Kg + 63) / 64), wy = (unsigned)((RS * Cg + 63) / 64);
            for (int splits : {1, 3}) {
                vec<float> gwo(nw, splits > 1 ? 0.f : NAN);
                LAUNCH(clipvil_conv2d_bwd_weight_nhwc_bf16, dim3(wx, wy, (unsigned)(c.G * splits)), dim3(128, 1, 1), gyn.data(), xn.data(), gwo.data(), splits,
                       c.N, c.C, c.H, c.W, c.K, c.R, c.S, P, Q, c.sh, c.sw, c.ph, c.pw, c.dh, c.dw, c.G);
                vec<float> gwr(nw);  // the caller's cast to BF16
                for (size_t i = 0; i < nw; i++) gwr[i] = emu_from_bf16(emu_to_bf16(gwo[i]));
                emu_check(L(splits > 1 ? "gw nhwc-tc split3" : "gw nhwc-tc"), gwr, gw, 2e-2);
            }
        }
    }
}

int main() {
    Case cases[] = {
        {2, 3, 11, 13, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {2, 4, 15, 9, 6, 3, 3, 2, 2, 0, 0, 1, 1, 1},
        {1, 8, 12, 12, 8, 3, 3, 1, 2, 2, 1, 2, 1, 2},
        {2, 6, 7, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6},
        {3, 16, 9, 9, 24, 1, 1, 1, 1, 0, 0, 1, 1, 1},
        {1, 16, 17, 17, 72, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {1, 3, 20, 20, 70, 7, 7, 2, 2, 3, 3, 1, 1, 1},
        {1, 32, 10, 10, 64, 3, 3, 2, 2, 1, 1, 1, 1, 2},
        {2, 16, 9, 9, 32, 1, 1, 2, 2, 0, 0, 1, 1, 1},   // 1x1 stride-2 downsample: odd phases get no tap
        {1, 8, 13, 11, 16, 3, 3, 3, 2, 1, 2, 2, 3, 1},  // stride 3x2, dilation 2x3 (tap steps 3 and 2)
        {1, 8, 9, 10, 16, 3, 3, 2, 2, 2, 1, 2, 2, 1},   // stride 2 = dilation 2: a phase takes every tap or none
        {1, 4, 7, 7, 8, 3, 3, 1, 1, 1, 1, 1, 1, 4},     // depthwise, channel multiplier 2 (Cg 1, Kg 2)
        {2, 8, 11, 11, 24, 5, 5, 2, 2, 2, 2, 1, 1, 1},  // 5x5 stride 2, Cg 8, Kg 24
        {2, 24, 6, 6, 48, 3, 3, 1, 1, 1, 1, 1, 1, 3},   // groups 3 on the 16-byte paths: Cg 8, Kg 16
        {1, 16, 8, 8, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1},   // Cg % 8 == 0 but Kg % 8 != 0
    };
    for (auto& c : cases) run(c);
    std::printf(emu_failures ? "%d FAILED\n" : "all passed\n", emu_failures);
    return emu_failures ? 1 : 0;
}
