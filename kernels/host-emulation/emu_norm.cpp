// Runs kernels/norm.cu (batch norm: batch statistics with the running-stat update, eval statistics,
// the affine apply, and the backward reduce + apply in training and eval) on the host emulator (or,
// built by nvcc, on the GPU) against a double-precision reference with PyTorch's semantics, launched as
// backend/cuda/CudaBatchNorm.java does (one 256-thread block per channel for the reductions,
// grid-stride elsewhere), and again with small grids so the grid-stride loops turn.
#include "emu.h"
#include "../norm.cu"
#include "emu_util.h"

// x dense [n, c, s]; weight/bias/running stats F32 vectors of stride vs (null when !affine / !running).
static void run(int dt, int n, int c, int s, bool affine, bool running, int vs, unsigned seed) {
    const double eps = 1e-5, mom = 0.1;
    size_t total = (size_t)n * c * s;
    int m = n * s;
    EmuBuf x = emu_rand_buf(dt, total, seed, -2, 3), gy = emu_rand_buf(dt, total, seed + 1, -1, 1);
    EmuBuf w = emu_rand_buf(DT_F32, (size_t)c * vs, seed + 2, 0.5f, 1.5f), b = emu_rand_buf(DT_F32, (size_t)c * vs, seed + 3, -0.5f, 0.5f);
    EmuBuf rm = emu_rand_buf(DT_F32, (size_t)c * vs, seed + 4, -0.2f, 0.2f), rv = emu_rand_buf(DT_F32, (size_t)c * vs, seed + 5, 0.5f, 1.5f);
    auto X = [&](int i, int ch, int j) { return (double)x.get(((size_t)i * c + ch) * s + j); };
    std::vector<double> mu(c), rs(c), wrm(c * vs), wrv(c * vs), y(total), sg(c), sgx(c), gx(total), gxe(total), erstd(c), emean(c);
    for (int k = 0; k < c * vs; k++) { wrm[k] = rm.get(k); wrv[k] = rv.get(k); }
    for (int ch = 0; ch < c; ch++) {
        double a = 0, q = 0;
        for (int i = 0; i < n; i++) for (int j = 0; j < s; j++) a += X(i, ch, j);
        mu[ch] = a / m;
        for (int i = 0; i < n; i++) for (int j = 0; j < s; j++) q += (X(i, ch, j) - mu[ch]) * (X(i, ch, j) - mu[ch]);
        double var = q / m;
        rs[ch] = 1 / std::sqrt(var + eps);
        wrm[ch * vs] = (1 - mom) * rm.get(ch * vs) + mom * mu[ch];
        wrv[ch * vs] = (1 - mom) * rv.get(ch * vs) + mom * var * m / (m - 1);
        emean[ch] = rm.get(ch * vs);
        erstd[ch] = 1 / std::sqrt((double)rv.get(ch * vs) + eps);
    }
    // the kernels' F32 mean/rstd feed apply and backward: the reference uses the same rounded values
    vec<float> meanF(c), rstdF(c);
    for (int ch = 0; ch < c; ch++) { meanF[ch] = (float)mu[ch]; rstdF[ch] = (float)rs[ch]; }
    for (int ch = 0; ch < c; ch++) {
        double wv = affine ? w.get(ch * vs) : 1, bv = affine ? b.get(ch * vs) : 0, a = 0, d = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < s; j++) {
                size_t o = ((size_t)i * c + ch) * s + j;
                y[o] = (X(i, ch, j) - meanF[ch]) * rstdF[ch] * wv + bv;
                a += gy.get(o);
                d += gy.get(o) * (X(i, ch, j) - meanF[ch]);
            }
        sg[ch] = a;
        sgx[ch] = d * rstdF[ch];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < s; j++) {
                size_t o = ((size_t)i * c + ch) * s + j;
                double xh = (X(i, ch, j) - meanF[ch]) * rstdF[ch];
                gx[o] = wv * rstdF[ch] * (gy.get(o) - a / m - xh * sgx[ch] / m);
                gxe[o] = wv * rstdF[ch] * gy.get(o);
            }
    }
    const void* wp = affine ? w.data() : nullptr;
    const void* bp = affine ? b.data() : nullptr;
    char tag[128];
    std::snprintf(tag, sizeof tag, "%s [%d, %d, %d] affine%d running%d vstride%d", emu_dtname(dt), n, c, s, affine, running, vs);
    for (int small = 0; small < 2; small++) {
        auto T = [&](const char* what) { return std::string(what) + (small ? " grid-stride " : " ") + tag; };
        unsigned rowsGrid = small ? 2 : (unsigned)std::min(c, 65535), nGrid = small ? 1 : emu_grid_for(total), cGrid = small ? 1 : emu_grid_for(c);
        EmuBuf rm2 = rm, rv2 = rv;
        vec<float> mean(c, NAN), rstd(c, NAN);
        LAUNCH(bn_stats, dim3(rowsGrid), dim3(256), mean.data(), rstd.data(), x.data(), dt, n, c, s, eps, running ? rm2.data() : nullptr, DT_F32, vs,
               running ? rv2.data() : nullptr, DT_F32, vs, mom);
        emu_check(T("bn_stats mean").c_str(), mean, mu, 1e-6);
        emu_check(T("bn_stats rstd").c_str(), rstd, rs, 1e-6);
        if (running) {
            emu_check(T("bn_stats running_mean").c_str(), rm2.floats(), wrm, 1e-6);
            emu_check(T("bn_stats running_var").c_str(), rv2.floats(), wrv, 1e-6);
        }
        EmuBuf out(dt, total);
        LAUNCH(bn_apply, dim3(nGrid), dim3(256), out.data(), dt, x.data(), dt, n, c, s, meanF.data(), rstdF.data(), wp, DT_F32, vs, bp, DT_F32, vs);
        emu_check(T("bn_apply").c_str(), out.floats(), y, emu_tol(dt));
        vec<float> sgk(c, NAN), sgxk(c, NAN);
        LAUNCH(bn_backward_reduce, dim3(rowsGrid), dim3(256), sgk.data(), sgxk.data(), gy.data(), dt, x.data(), dt, n, c, s, meanF.data(), DT_F32, 1,
               rstdF.data(), DT_F32, 1);
        emu_check(T("bn_backward_reduce sum(gy)").c_str(), sgk, sg, 1e-5);
        emu_check(T("bn_backward_reduce sum(gy xhat)").c_str(), sgxk, sgx, 1e-5);
        for (int training = 1; training >= 0; training--) {
            EmuBuf g(dt, total);
            LAUNCH(bn_backward_apply, dim3(nGrid), dim3(256), g.data(), dt, gy.data(), dt, x.data(), dt, n, c, s, meanF.data(), DT_F32, 1, rstdF.data(),
                   DT_F32, 1, wp, DT_F32, vs, sgk.data(), sgxk.data(), training);
            emu_check(T(training ? "bn_backward_apply training" : "bn_backward_apply eval").c_str(), g.floats(), training ? gx : gxe, emu_tol(dt, 2e-5));
        }
        if (running) {
            vec<float> em(c, NAN), er(c, NAN);
            LAUNCH(bn_eval_stats, dim3(cGrid), dim3(256), em.data(), er.data(), rm.data(), DT_F32, vs, rv.data(), DT_F32, vs, c, eps);
            emu_check(T("bn_eval_stats mean").c_str(), em, emean, 1e-6);
            emu_check(T("bn_eval_stats rstd").c_str(), er, erstd, 1e-6);
        }
    }
}

int main() {
    for (int dt : {DT_F32, DT_BF16}) {
        run(dt, 4, 3, 25, true, true, 1, 1);
        run(dt, 3, 5, 77, false, true, 2, 2);   // strided running stats, no affine
        run(dt, 7, 4, 1, true, false, 3, 3);    // [N, C] (BatchNorm1d), strided weight
        run(dt, 2, 6, 150, true, true, 1, 4);   // more than 256 values per channel
    }
    std::printf(emu_failures ? "%d FAILED\n" : "all passed\n", emu_failures);
    return emu_failures ? 1 : 0;
}
