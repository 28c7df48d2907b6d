// Runs kernels/loss.cu (cross-entropy with hard targets, an ignore index and out-of-range targets that
// must be skipped, or soft targets, forward and backward; binary cross-entropy with logits) on the host
// emulator (or, built by nvcc, on the GPU) against a double-precision reference, launched as
// backend/cuda/CudaLoss.java does (one 256-thread block per row; BCE grid-stride over the elements),
// and again with a small grid so the grid-stride loops turn.
#include "emu.h"
#include "../loss.cu"
#include "emu_util.h"

static const long long IGNORE = -100;

// Cross-entropy over n rows of c classes. Hard targets (tdt I32/I64, every row's class at stride
// tStride; some rows ignored, some out of range) or soft targets (tdt floating, dense [n, c]).
static void run_ce(int ldt, int n, int c, int tdt, int tStride, unsigned seed) {
    bool soft = tdt != DT_I32 && tdt != DT_I64;
    EmuBuf logits = emu_rand_buf(ldt, (size_t)n * c, seed, -5, 5);
    EmuBuf target(tdt, soft ? (size_t)n * c : (size_t)n * tStride);
    std::vector<long long> cls(n, -1);
    std::mt19937 r(seed + 1);
    if (soft) {
        for (int i = 0; i < n; i++) {
            double tot = 0;
            std::vector<double> t(c);
            for (int k = 0; k < c; k++) { t[k] = (r() % 3 == 0) ? 0.0 : (r() % 1000) / 1000.0; tot += t[k]; }
            for (int k = 0; k < c; k++) target.set((size_t)i * c + k, (float)(tot > 0 ? t[k] / tot * (i % 2 ? 1.0 : 0.7) : 0.0));
        }
    } else {
        long long bad[] = {IGNORE, -1, (long long)c, (long long)c + 1000, -7};
        for (int i = 0; i < n; i++) {
            cls[i] = (i % 4 == 3) ? bad[(i / 4) % 5] : (long long)(r() % c);
            target.seti((size_t)i * tStride, cls[i]);
        }
    }
    EmuBuf gLoss = emu_rand_buf(DT_F32, (size_t)n * 3, seed + 2, -2, 2);  // stride 3
    std::vector<double> want(n), gw((size_t)n * c);
    for (int i = 0; i < n; i++) {
        double m = -INFINITY, s = 0;
        for (int k = 0; k < c; k++) m = std::max(m, (double)logits.get((size_t)i * c + k));
        for (int k = 0; k < c; k++) s += std::exp(logits.get((size_t)i * c + k) - m);
        double lse = m + std::log(s), g = gLoss.get((size_t)i * 3);
        if (!soft) {
            bool skip = cls[i] == IGNORE || cls[i] < 0 || cls[i] >= c;
            want[i] = skip ? 0.0 : lse - logits.get((size_t)i * c + cls[i]);
            for (int k = 0; k < c; k++)
                gw[(size_t)i * c + k] = skip ? 0.0 : (std::exp(logits.get((size_t)i * c + k) - lse) - (k == cls[i] ? 1.0 : 0.0)) * g;
        } else {
            double v = 0, tot = 0;
            for (int k = 0; k < c; k++) {
                double t = target.get((size_t)i * c + k);
                tot += t;
                if (t != 0) v -= t * (logits.get((size_t)i * c + k) - lse);
            }
            want[i] = v;
            for (int k = 0; k < c; k++)
                gw[(size_t)i * c + k] = (std::exp(logits.get((size_t)i * c + k) - lse) * tot - target.get((size_t)i * c + k)) * g;
        }
    }
    char tag[160];
    std::snprintf(tag, sizeof tag, "%s logits [%d, %d] %s target%s", emu_dtname(ldt), n, c, emu_dtname(tdt),
                  soft ? " (soft)" : (" stride " + std::to_string(tStride)).c_str());
    for (int small = 0; small < 2; small++) {
        unsigned blocks = small ? 2 : (unsigned)std::min(n, 65535);
        EmuBuf out(ldt, n), gx(ldt, (size_t)n * c);
        LAUNCH(cross_entropy_forward, dim3(blocks), dim3(256), out.data(), ldt, logits.data(), ldt, n, c, target.data(), tdt, soft ? 0 : tStride,
               soft ? 1 : 0, IGNORE);
        LAUNCH(cross_entropy_backward, dim3(blocks), dim3(256), gx.data(), ldt, logits.data(), ldt, n, c, target.data(), tdt, soft ? 0 : tStride,
               soft ? 1 : 0, IGNORE, gLoss.data(), DT_F32, 3);
        std::string f = std::string("cross_entropy fwd ") + (small ? "grid-stride " : "") + tag;
        std::string b = std::string("cross_entropy bwd ") + (small ? "grid-stride " : "") + tag;
        emu_check(f.c_str(), out.floats(), want, emu_tol(ldt));
        emu_check(b.c_str(), gx.floats(), gw, emu_tol(ldt));
    }
}

// BCE with logits over x [a, b] read transposed (x stored [b, a]), target broadcast along dim 0
// (stride 0), gradient contiguous; out contiguous.
static void run_bce(int dt, int tdt, int a, int b, unsigned seed) {
    EmuBuf x = emu_rand_buf(dt, (size_t)a * b, seed, -30, 30), t = emu_rand_buf(tdt, b, seed + 1, 0, 1);
    EmuBuf g = emu_rand_buf(dt, (size_t)a * b, seed + 2, -1, 1);
    ivec shape{a, b}, ost = emu_contig(shape), xst{1, a}, tst{0, 1}, gst = ost;
    std::vector<double> wf((size_t)a * b), wb((size_t)a * b);
    for (long long i = 0; i < (long long)a * b; i++) {
        double v = x.get(emu_offset(shape, xst, i)), tv = t.get(emu_offset(shape, tst, i)), gv = g.get(i);
        wf[i] = std::max(v, 0.0) - v * tv + std::log1p(std::exp(-std::fabs(v)));
        wb[i] = (1.0 / (1.0 + std::exp(-v)) - tv) * gv;
    }
    Geom gf = emu_geom(shape, {ost, xst, tst}), gb = emu_geom(shape, {ost, xst, tst, gst});
    char tag[128];
    std::snprintf(tag, sizeof tag, "%s x [%d, %d] transposed, %s target broadcast", emu_dtname(dt), a, b, emu_dtname(tdt));
    for (int small = 0; small < 2; small++) {
        unsigned grid = small ? 1 : emu_grid_for((long long)a * b);
        EmuBuf of(dt, (size_t)a * b), ob(dt, (size_t)a * b);
        LAUNCH(bce_logits_forward, dim3(grid), dim3(256), of.data(), dt, x.data(), dt, t.data(), tdt, gf);
        LAUNCH(bce_logits_backward, dim3(grid), dim3(256), ob.data(), dt, x.data(), dt, t.data(), tdt, g.data(), dt, gb);
        std::string f = std::string("bce_logits fwd ") + (small ? "grid-stride " : "") + tag;
        std::string bn = std::string("bce_logits bwd ") + (small ? "grid-stride " : "") + tag;
        emu_check(f.c_str(), of.floats(), wf, emu_tol(dt));
        emu_check(bn.c_str(), ob.floats(), wb, emu_tol(dt));
    }
}

int main() {
    for (int ldt : {DT_F32, DT_BF16}) {
        run_ce(ldt, 13, 77, DT_I64, 1, 1);
        run_ce(ldt, 9, 257, DT_I32, 2, 2);
        run_ce(ldt, 5, 1000, DT_I64, 3, 3);
        run_ce(ldt, 6, 1, DT_I32, 1, 4);
        run_ce(ldt, 7, 77, ldt, 0, 5);
        run_ce(ldt, 4, 1000, DT_F32, 0, 6);
        run_ce(ldt, 3, 257, DT_BF16, 0, 7);
        run_bce(ldt, ldt, 37, 29, 8);
        run_bce(ldt, DT_F32, 5, 300, 9);
    }
    run_bce(DT_F16, DT_F16, 11, 13, 10);
    std::printf(emu_failures ? "%d FAILED\n" : "all passed\n", emu_failures);
    return emu_failures ? 1 : 0;
}
