// Runs kernels/softmax.cu (softmax / log-softmax forward and backward along one dim of a strided
// view) on the host emulator (or, built by nvcc, on the GPU) against a double-precision reference,
// launched as backend/cuda/CudaSoftmax.java does (one 256-thread block per row), and again with a
// small grid so the grid-stride loop over rows turns.
#include "emu.h"
#include "../softmax.cu"
#include "emu_util.h"

static ivec without(const ivec& a, int d) {
    ivec r;
    for (size_t i = 0; i < a.size(); i++)
        if ((int)i != d) r.push_back(a[i]);
    return r;
}

// x: a view of a buffer of bufN elements; softmax along dim d; every `negInf`-th element of x is -inf.
static void run(int dt, const EmuView& x, size_t bufN, int d, int negInf, unsigned seed) {
    EmuBuf xb = emu_rand_buf(dt, bufN, seed, -4, 4);
    if (negInf)
        for (size_t i = 1; i < bufN; i += negInf) xb.set(i, -INFINITY);
    ivec shape = x.shape, ost = emu_contig(shape);
    int len = shape[d];
    ivec oshape = without(shape, d);
    long long rows = emu_numel(oshape), n = x.numel();
    const void* xp = xb.bytes.data() + (size_t)x.offset * EmuBuf::size(dt);
    char tag[160];
    std::snprintf(tag, sizeof tag, "%s shape[%lld x %d] dim%d xstride%d%s", emu_dtname(dt), rows, len, d, x.st[d], negInf ? " -inf" : "");
    for (int logMode = 0; logMode < 2; logMode++) {
        // reference: out[i] at contiguous index i
        std::vector<double> want(n), y(n);
        for (long long r = 0; r < rows; r++) {
            long long xo = x.offset + emu_offset(oshape, without(x.st, d), r), oo = emu_offset(oshape, without(ost, d), r);
            double m = -INFINITY, s = 0;
            for (int j = 0; j < len; j++) m = std::max(m, (double)xb.get(xo + (long long)j * x.st[d]));
            for (int j = 0; j < len; j++) s += std::exp(xb.get(xo + (long long)j * x.st[d]) - m);
            for (int j = 0; j < len; j++) {
                double v = xb.get(xo + (long long)j * x.st[d]) - m;
                want[oo + (long long)j * ost[d]] = logMode ? v - std::log(s) : std::exp(v) / s;
            }
        }
        Geom outer = emu_geom(oshape, {without(x.st, d), without(ost, d)});
        EmuBuf out(dt, n);
        for (int small = 0; small < 2; small++) {
            out.fill_nan();
            unsigned blocks = small ? 2 : (unsigned)std::min<long long>(rows, 65535);
            LAUNCH(softmax_forward, dim3(blocks), dim3(256), out.data(), dt, xp, dt, len, x.st[d], ost[d], logMode, outer);
            std::string name = std::string(logMode ? "log_softmax fwd " : "softmax fwd ") + (small ? "grid-stride " : "") + tag;
            emu_check(name.c_str(), out.floats(), want, emu_tol(dt));
        }
        // backward from y = the kernel's output (contiguous) and a transposed-layout gy when rank 2
        EmuBuf gyb = emu_rand_buf(dt, n, seed + 1, -1, 1);
        ivec gyst = ost;
        if (shape.size() == 2) gyst = {1, shape[0]};  // gy stored column-major
        std::vector<double> gw(n);
        for (long long r = 0; r < rows; r++) {
            long long yo = emu_offset(oshape, without(ost, d), r), go = emu_offset(oshape, without(gyst, d), r);
            double t = 0;
            for (int j = 0; j < len; j++) {
                double g = gyb.get(go + (long long)j * gyst[d]), yv = out.get(yo + (long long)j * ost[d]);
                t += logMode ? g : g * yv;
            }
            for (int j = 0; j < len; j++) {
                double g = gyb.get(go + (long long)j * gyst[d]), yv = out.get(yo + (long long)j * ost[d]);
                gw[yo + (long long)j * ost[d]] = logMode ? g - std::exp(yv) * t : yv * (g - t);
            }
        }
        Geom bouter = emu_geom(oshape, {without(ost, d), without(gyst, d), without(ost, d)});
        for (int small = 0; small < 2; small++) {
            EmuBuf gx(dt, n);
            unsigned blocks = small ? 2 : (unsigned)std::min<long long>(rows, 65535);
            LAUNCH(softmax_backward, dim3(blocks), dim3(256), gx.data(), dt, out.data(), dt, gyb.data(), dt, len, ost[d], gyst[d], ost[d], logMode,
                   bouter);
            std::string name = std::string(logMode ? "log_softmax bwd " : "softmax bwd ") + (small ? "grid-stride " : "") + tag;
            // -inf logits: y = 0 (softmax) or -inf (log: exp(y) = 0): gradients finite
            emu_check(name.c_str(), gx.floats(), gw, emu_tol(dt, 2e-5));
        }
    }
}

int main() {
    for (int dt : {DT_F32, DT_BF16, DT_F16}) {
        run(dt, {{4, 77}, {77, 1}, 0}, 4 * 77, 1, 0, 1);
        run(dt, {{3, 257}, {257, 1}, 0}, 3 * 257, 1, 0, 2);
        run(dt, {{2, 1000}, {1000, 1}, 0}, 2000, 1, 0, 3);
        run(dt, {{3, 77}, {77, 1}, 0}, 3 * 77, 1, 10, 4);
        run(dt, emu_permuted({77, 5}, {1, 0}, 2), 77 * 5 + 2, 1, 0, 5);  // [5, 77], stride 5 along the dim
        run(dt, {{4, 9, 3}, {27, 3, 1}, 0}, 108, 1, 0, 6);              // a middle dim
        run(dt, {{6, 5}, {5, 1}, 0}, 30, 0, 0, 7);                      // dim 0
        run(dt, {{2, 1}, {1, 1}, 0}, 2, 1, 0, 8);                       // rows of one element
    }
    std::printf(emu_failures ? "%d FAILED\n" : "all passed\n", emu_failures);
    return emu_failures ? 1 : 0;
}
