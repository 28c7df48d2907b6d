// Runs kernels/pool.cu (average pooling over [planes, H, W]: fixed windows with padding, ceil mode and
// count_include_pad, and adaptive windows; forward and the atomic scatter backward) on the host
// emulator (or, built by nvcc, on the GPU) against a double-precision reference with PyTorch's window
// rules, launched as backend/cuda/CudaPool.java does (grid-stride, 256 threads), and with one block.
#include "emu.h"
#include "../pool.cu"
#include "emu_util.h"

struct P { int kH, kW, sH, sW, pH, pW, ceil, cip; };

static int out_size(int in, int k, int s, int p, int ceil) {  // Pool2dParams.out
    int num = in + 2 * p - k;
    int o = (ceil ? (num + s - 1) / s : num / s) + 1;
    if (ceil && (o - 1) * s >= in + p) o--;
    return o;
}
// PyTorch's window of output o: [lo, hi) inside the input, `size` counting the padding.
static void window(int o, int k, int s, int p, int in, int outN, bool adaptive, int& lo, int& hi, int& size) {
    if (adaptive) {
        lo = (int)std::floor((double)o * in / outN);
        hi = (int)std::ceil((double)(o + 1) * in / outN);
        size = hi - lo;
        return;
    }
    int start = o * s - p, end = std::min(start + k, in + p);
    size = end - start;
    lo = std::max(start, 0);
    hi = std::min(end, in);
}

static void run(int dt, int planes, int h, int w, const P& p, bool adaptive, int oh, int ow, unsigned seed) {
    if (!adaptive) { oh = out_size(h, p.kH, p.sH, p.pH, p.ceil); ow = out_size(w, p.kW, p.sW, p.pW, p.ceil); }
    EmuBuf x = emu_rand_buf(dt, (size_t)planes * h * w, seed, -2, 2), gy = emu_rand_buf(dt, (size_t)planes * oh * ow, seed + 1, -1, 1);
    std::vector<double> want((size_t)planes * oh * ow), gw((size_t)planes * h * w, 0.0);
    for (int pl = 0; pl < planes; pl++)
        for (int r = 0; r < oh; r++)
            for (int c = 0; c < ow; c++) {
                int rl, rh, rs, cl, ch, cs;
                window(r, p.kH, p.sH, p.pH, h, oh, adaptive, rl, rh, rs);
                window(c, p.kW, p.sW, p.pW, w, ow, adaptive, cl, ch, cs);
                int div = adaptive || p.cip ? rs * cs : (rh - rl) * (ch - cl);
                double s = 0;
                for (int y = rl; y < rh; y++)
                    for (int z = cl; z < ch; z++) s += x.get(((size_t)pl * h + y) * w + z);
                size_t o = ((size_t)pl * oh + r) * ow + c;
                want[o] = s / div;
                for (int y = rl; y < rh; y++)
                    for (int z = cl; z < ch; z++) gw[((size_t)pl * h + y) * w + z] += (double)gy.get(o) / div;
            }
    int args[8] = {p.kH, p.kW, p.sH, p.sW, p.pH, p.pW, p.cip, 0};
    if (adaptive) { int a[8] = {1, 1, 1, 1, 0, 0, 1, 1}; std::memcpy(args, a, sizeof a); }
    char tag[160];
    if (adaptive) std::snprintf(tag, sizeof tag, "%s adaptive %dx%dx%d -> %dx%d", emu_dtname(dt), planes, h, w, oh, ow);
    else std::snprintf(tag, sizeof tag, "%s %dx%dx%d k%dx%d s%dx%d p%dx%d ceil%d cip%d -> %dx%d", emu_dtname(dt), planes, h, w, p.kH, p.kW, p.sH, p.sW,
                       p.pH, p.pW, p.ceil, p.cip, oh, ow);
    for (int small = 0; small < 2; small++) {
        EmuBuf out(dt, (size_t)planes * oh * ow);
        vec<float> acc((size_t)planes * h * w, 0.0f);
        unsigned gf = small ? 1 : emu_grid_for((long long)planes * oh * ow);
        LAUNCH(avg_pool_forward, dim3(gf), dim3(256), out.data(), dt, x.data(), dt, planes, h, w, oh, ow, args[0], args[1], args[2], args[3], args[4],
               args[5], args[6], args[7]);
        LAUNCH(avg_pool_backward, dim3(gf), dim3(256), acc.data(), gy.data(), dt, planes, h, w, oh, ow, args[0], args[1], args[2], args[3], args[4],
               args[5], args[6], args[7]);
        emu_check((std::string("avg_pool fwd ") + (small ? "grid-stride " : "") + tag).c_str(), out.floats(), want, emu_tol(dt));
        emu_check((std::string("avg_pool bwd ") + (small ? "grid-stride " : "") + tag).c_str(), acc, gw, 1e-5);
    }
}

int main() {
    for (int dt : {DT_F32, DT_BF16}) {
        run(dt, 3, 7, 9, {3, 3, 2, 2, 1, 1, 0, 1}, false, 0, 0, 1);
        run(dt, 3, 7, 9, {3, 3, 2, 2, 1, 1, 0, 0}, false, 0, 0, 2);
        run(dt, 2, 8, 11, {3, 2, 2, 3, 1, 1, 1, 0}, false, 0, 0, 3);   // ceil mode, uneven kernel/stride
        run(dt, 2, 8, 11, {3, 2, 2, 3, 1, 1, 1, 1}, false, 0, 0, 4);
        run(dt, 4, 6, 6, {2, 2, 2, 2, 0, 0, 0, 1}, false, 0, 0, 5);
        run(dt, 2, 9, 7, {3, 3, 1, 1, 1, 0, 0, 0}, false, 0, 0, 6);    // overlapping windows: atomics collide
        run(dt, 5, 7, 7, {}, true, 3, 3, 7);
        run(dt, 3, 5, 9, {}, true, 2, 4, 8);
        run(dt, 2, 6, 5, {}, true, 4, 7, 9);                            // adaptive upsampling-like windows
        run(dt, 3, 10, 13, {}, true, 1, 1, 10);
    }
    run(DT_F16, 2, 7, 9, {3, 3, 2, 2, 1, 1, 0, 1}, false, 0, 0, 11);
    std::printf(emu_failures ? "%d FAILED\n" : "all passed\n", emu_failures);
    return emu_failures ? 1 : 0;
}
