// Runs kernels/reduce.cu (reduce_dims and its column variant, reduce_variance, reduce_argmax) on the
// host emulator (or, built by nvcc, on the GPU) against a double-precision reference, launched as
// backend/cuda/CudaReduce.java does (one 256-thread block per output, the column kernel's (32, 8)
// blocks when CudaReduce.columnWise holds), and again with a small grid so every grid-stride loop turns.
#include "emu.h"
#include "../reduce.cu"
#include "emu_util.h"

// CudaReduce.Plan: kept dims (outer: input strides, contiguous output strides) and reduced dims (inner).
struct Plan {
    ivec os, ost, is, ist;
    Geom outer() const { return emu_geom(os, {ost, emu_contig(os)}); }
    Geom inner() const { return emu_geom(is, {ist}); }
    long long nOut() const { return emu_numel(os); }
    long long nIn() const { return emu_numel(is); }
};
static Plan plan(const EmuView& x, const ivec& dims) {
    Plan p;
    for (size_t i = 0; i < x.shape.size(); i++) {
        bool red = dims.empty() || std::find(dims.begin(), dims.end(), (int)i) != dims.end();
        (red ? p.is : p.os).push_back(x.shape[i]);
        (red ? p.ist : p.ost).push_back(x.st[i]);
    }
    return p;
}
static bool column_wise(const Geom& outer, const Geom& inner) {
    return outer.st[0][outer.rank - 1] == 1 && outer.numel >= 32 && inner.numel >= 8;
}
// Element of the input at (outer index o, inner index j).
static double elem(const EmuBuf& b, const EmuView& x, const Plan& p, long long o, long long j) {
    return b.get(x.offset + emu_offset(p.os, p.ost, o) + emu_offset(p.is, p.ist, j));
}
static std::string dims_str(const ivec& d) {
    std::string s = "{";
    for (size_t i = 0; i < d.size(); i++) s += (i ? "," : "") + std::to_string(d[i]);
    return s + "}";
}
static std::string shape_str(const EmuView& x) {
    std::string s = "[";
    for (size_t i = 0; i < x.shape.size(); i++) s += (i ? "," : "") + std::to_string(x.shape[i]);
    s += "] st[";
    for (size_t i = 0; i < x.st.size(); i++) s += (i ? "," : "") + std::to_string(x.st[i]);
    return s + "]";
}

static void run(int dt, const EmuView& x, size_t bufN, const ivec& dims, bool withNan, unsigned seed) {
    EmuBuf b = emu_rand_buf(dt, bufN, seed, -2, 3);
    if (withNan) b.set(x.at(x.numel() / 3), NAN);
    Plan p = plan(x, dims);
    Geom outer = p.outer(), inner = p.inner();
    long long nOut = p.nOut(), n = p.nIn();
    const void* xp = b.bytes.data() + (size_t)x.offset * EmuBuf::size(dt);
    std::string tag = std::string(emu_dtname(dt)) + " " + shape_str(x) + " dims" + dims_str(dims) + (withNan ? " nan" : "");
    bool cols = column_wise(outer, inner);
    const char* opn[] = {"sum", "mean", "max", "min"};
    for (int op = 0; op < 4; op++) {
        for (int small = 0; small < 2; small++) {
            std::vector<double> want(nOut);
            for (long long o = 0; o < nOut; o++) {
                double s = 0, m = op == 2 ? -INFINITY : INFINITY;
                bool nan = false;
                for (long long j = 0; j < n; j++) {
                    double v = elem(b, x, p, o, j);
                    s += v;
                    if (std::isnan(v)) nan = true;
                    else m = op == 2 ? std::max(m, v) : std::min(m, v);
                }
                want[o] = op == 0 ? s : op == 1 ? s / n : nan ? NAN : m;
            }
            EmuBuf out(dt, nOut);
            if (cols) {
                unsigned blocks = small ? 1 : (unsigned)std::min<long long>((nOut + 31) / 32, 65535);
                LAUNCH(reduce_dims_cols, dim3(blocks), dim3(32, 8), out.data(), dt, xp, dt, op, outer, inner);
            } else {
                unsigned blocks = small ? 3 : (unsigned)std::min<long long>(nOut, 65535);
                LAUNCH(reduce_dims, dim3(blocks), dim3(256), out.data(), dt, xp, dt, op, outer, inner);
            }
            std::string name = std::string(cols ? "reduce_dims_cols " : "reduce_dims ") + opn[op] + (small ? " grid-stride " : " ") + tag;
            vec<float> got = out.floats();
            // NaN outputs are wanted where the input has one (max/min): compare those exactly here.
            bool nanOk = true;
            for (long long o = 0; o < nOut; o++) {
                if (std::isnan(want[o])) {
                    nanOk = nanOk && std::isnan(got[o]);
                    got[o] = 0;
                    want[o] = 0;
                }
            }
            if (!nanOk) { std::printf("FAIL %s: a NaN of the input did not reach the output\n", name.c_str()); emu_failures++; }
            emu_check(name.c_str(), got, want, emu_tol(dt));
        }
    }
    if (withNan) return;
    // variance, corrections 0 and 1 (rows kernel always)
    for (int corr = 0; corr < 2; corr++) {
        if (n - corr <= 0) continue;
        std::vector<double> want(nOut);
        for (long long o = 0; o < nOut; o++) {
            double s = 0, q = 0;
            for (long long j = 0; j < n; j++) s += elem(b, x, p, o, j);
            double mu = s / n;
            for (long long j = 0; j < n; j++) q += (elem(b, x, p, o, j) - mu) * (elem(b, x, p, o, j) - mu);
            want[o] = q / (n - corr);
        }
        for (int small = 0; small < 2; small++) {
            EmuBuf out(dt, nOut);
            unsigned blocks = small ? 3 : (unsigned)std::min<long long>(nOut, 65535);
            LAUNCH(reduce_variance, dim3(blocks), dim3(256), out.data(), dt, xp, dt, corr, outer, inner);
            std::string name = "reduce_variance corr" + std::to_string(corr) + (small ? " grid-stride " : " ") + tag;
            emu_check(name.c_str(), out.floats(), want, emu_tol(dt));
        }
    }
}

// argmax along dim d; values on a coarse grid so ties happen (the first index must win), and a case
// with NaNs (the first NaN wins).
static void run_argmax(int dt, const EmuView& x, size_t bufN, int d, int nanEvery, unsigned seed) {
    EmuBuf b(dt, bufN);
    std::mt19937 r(seed);
    for (size_t i = 0; i < bufN; i++) b.set(i, (float)(int)(r() % 7) - 3.0f);
    if (nanEvery)
        for (size_t i = 0; i < bufN; i += nanEvery) b.set(i, NAN);
    Plan p = plan(x, {d});
    Geom outer = p.outer();
    long long nOut = p.nOut(), len = x.shape[d];
    std::vector<double> want(nOut);
    for (long long o = 0; o < nOut; o++) {
        long long base = x.offset + emu_offset(p.os, p.ost, o), best = 0;
        for (long long j = 1; j < len; j++) {
            float v = b.get(base + j * x.st[d]), bv = b.get(base + best * x.st[d]);
            if (std::isnan(bv)) break;
            if (std::isnan(v) || v > bv) best = j;
        }
        want[o] = (double)best;
    }
    const void* xp = b.bytes.data() + (size_t)x.offset * EmuBuf::size(dt);
    for (int small = 0; small < 2; small++) {
        vec<long long> out(nOut, -7);
        unsigned blocks = small ? 3 : (unsigned)std::min<long long>(nOut, 65535);
        LAUNCH(reduce_argmax, dim3(blocks), dim3(256), out.data(), xp, dt, (int)len, x.st[d], outer);
        vec<float> got(nOut);
        for (long long o = 0; o < nOut; o++) got[o] = (float)out[o];
        std::string name = std::string("reduce_argmax") + (small ? " grid-stride " : " ") + emu_dtname(dt) + " " + shape_str(x) + " dim" +
                           std::to_string(d) + (nanEvery ? " nan" : "");
        emu_check(name.c_str(), got, want, 0);
    }
}

int main() {
    for (int dt : {DT_F32, DT_BF16}) {
        // contiguous [5, 7, 33]
        EmuView c{{5, 7, 33}, {231, 33, 1}, 0};
        for (ivec dims : {ivec{}, ivec{2}, ivec{0}, ivec{1}, ivec{0, 2}, ivec{0, 1}}) run(dt, c, 5 * 7 * 33, dims, false, 11);
        // permuted view of a [33, 7, 5] buffer (offset 3 into a larger buffer): shape [5, 33, 7]
        EmuView t = emu_permuted({33, 7, 5}, {2, 0, 1}, 3);
        for (ivec dims : {ivec{}, ivec{1}, ivec{0, 2}, ivec{2}}) run(dt, t, 33 * 7 * 5 + 3, dims, false, 12);
        // column kernel: sum over rows of [20, 77] (bias gradient), and over dims 0, 2 of [3, 40, 9]
        // permuted to keep a unit-stride dim
        EmuView rc{{20, 77}, {77, 1}, 0};
        run(dt, rc, 20 * 77, {0}, false, 13);
        run(dt, rc, 20 * 77, {0}, true, 14);
        EmuView r3{{9, 3, 40}, {40, 360, 1}, 0};
        run(dt, r3, 9 * 3 * 40, {0, 1}, false, 15);
        // long rows (more than 256 per block) and a NaN
        EmuView lr{{3, 1000}, {1000, 1}, 0};
        run(dt, lr, 3000, {1}, false, 16);
        run(dt, lr, 3000, {1}, true, 17);
        // argmax
        run_argmax(dt, c, 5 * 7 * 33, 2, 0, 21);
        run_argmax(dt, c, 5 * 7 * 33, 0, 0, 22);
        run_argmax(dt, t, 33 * 7 * 5 + 3, 1, 0, 23);
        run_argmax(dt, lr, 3000, 1, 0, 24);
        run_argmax(dt, lr, 3000, 1, 701, 25);
        run_argmax(dt, c, 5 * 7 * 33, 2, 13, 26);
    }
    std::printf(emu_failures ? "%d FAILED\n" : "all passed\n", emu_failures);
    return emu_failures ? 1 : 0;
}
