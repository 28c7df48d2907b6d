// Runs kernels/optim.cu (adamw_step / sgd_step over strided operands, their *_dev forms reading lr and
// the step from device memory, and the multi-tensor adamw_multi / sgd_multi over a TensorList of tensors
// of odd sizes) on the host emulator (or, built by nvcc, on the GPU), launched as
// backend/cuda/CudaOptim.java does, against a reference with the arithmetic of
// backend/cpu/CpuOptim.java (double math, F32 state rounded when stored; BF16 state rounded to BF16).
// The multi-tensor tensors sit in one buffer with sentinel gaps between them: every element must be
// updated exactly once (a second update or none differs from the reference) and no gap written.
#include "emu.h"
#include "../optim.cu"
#include "emu_util.h"

static double rnd(int dt, double v) {
    EmuBuf b(dt, 1);
    b.set(0, (float)v);
    return b.get(0);
}

struct Adam { double lr, b1, b2, eps, wd; };
// One AdamW element (CpuOptim.adamw's F32 loop, state rounded to dt): updates p, m, v.
static void adam_ref(int dt, const Adam& h, long long t, double& p, double& m, double& v, double g) {
    double stepSize = h.lr / (1 - std::pow(h.b1, (double)t)), bc2Sqrt = std::sqrt(1 - std::pow(h.b2, (double)t)), decay = 1 - h.lr * h.wd;
    m = rnd(dt, h.b1 * m + (1 - h.b1) * g);
    v = rnd(dt, h.b2 * v + (1 - h.b2) * g * g);
    p = rnd(dt, p * decay - stepSize * m / (std::sqrt(v) / bc2Sqrt + h.eps));
}
struct Sgd { double lr, momentum, dampening, wd; int nesterov; };
// One SGD element (CpuOptim.sgd's F32 loops; d and the nesterov sum rounded to F32, the buffer to dt).
static void sgd_ref(int dt, const Sgd& h, bool hasBuf, bool first, double& p, double& b, double g) {
    double d = (float)(g + h.wd * p), upd = d;
    if (hasBuf) {
        b = rnd(dt, first ? d : h.momentum * b + (1 - h.dampening) * d);
        upd = h.nesterov ? (double)(float)(d + h.momentum * b) : b;
    }
    p = rnd(dt, p - h.lr * upd);
}

// Single-tensor kernels: p is a transposed view of a [c, r] buffer (shape [r, c]), m/v/buf/g contiguous.
static void run_single(int dt, int r, int c, bool dev) {
    ivec shape{r, c}, pst{1, r}, cst = emu_contig(shape);
    size_t n = (size_t)r * c;
    Adam h{1e-2, 0.9, 0.999, 1e-8, 0.05};
    long long t = 3;
    EmuBuf p = emu_rand_buf(dt, n, 1, -1, 1), m = emu_rand_buf(dt, n, 2, -0.1f, 0.1f), v = emu_rand_buf(dt, n, 3, 0, 0.01f),
           g = emu_rand_buf(dt, n, 4, -1, 1);
    std::vector<double> wp(n), wm(n), wv(n);
    for (size_t i = 0; i < n; i++) {
        size_t po = emu_offset(shape, pst, i);
        double pp = p.get(po), mm = m.get(i), vv = v.get(i);
        adam_ref(dt, h, t, pp, mm, vv, g.get(i));
        wp[po] = pp; wm[i] = mm; wv[i] = vv;
    }
    Geom geo = emu_geom(shape, {pst, cst, cst, cst});
    unsigned grid = emu_grid_for(n, dev ? 1 : 132 * 16);
    char tag[128];
    std::snprintf(tag, sizeof tag, "%s [%d, %d] p transposed%s", emu_dtname(dt), r, c, dev ? " (device scalars, grid 1)" : "");
    if (dev) {
        vec<double> sc{h.lr, (double)t};
        LAUNCH(adamw_step_dev, dim3(grid), dim3(256), p.data(), m.data(), v.data(), g.data(), dt, h.b1, h.b2, h.eps, h.wd, sc.data(), geo);
    } else {
        double stepSize = h.lr / (1 - std::pow(h.b1, (double)t)), bc2Sqrt = std::sqrt(1 - std::pow(h.b2, (double)t));
        LAUNCH(adamw_step, dim3(grid), dim3(256), p.data(), m.data(), v.data(), g.data(), dt, h.b1, h.b2, h.eps, 1 - h.lr * h.wd, stepSize, bc2Sqrt, geo);
    }
    double tol = dt == DT_F32 ? 1e-6 : 8e-3;
    emu_check((std::string(dev ? "adamw_step_dev p " : "adamw_step p ") + tag).c_str(), p.floats(), wp, tol);
    emu_check((std::string(dev ? "adamw_step_dev exp_avg " : "adamw_step exp_avg ") + tag).c_str(), m.floats(), wm, tol);
    emu_check((std::string(dev ? "adamw_step_dev exp_avg_sq " : "adamw_step exp_avg_sq ") + tag).c_str(), v.floats(), wv, tol);

    // SGD: no momentum; momentum (first step, later step); nesterov
    struct V { double momentum; int nesterov; bool first; };
    for (V s : {V{0, 0, false}, V{0.9, 0, true}, V{0.9, 0, false}, V{0.8, 1, false}}) {
        Sgd hs{0.05, s.momentum, 0.1, 0.01, s.nesterov};
        bool hasBuf = s.momentum != 0;
        EmuBuf sp = emu_rand_buf(dt, n, 5, -1, 1), sb = emu_rand_buf(dt, n, 6, -1, 1);
        std::vector<double> wsp(n), wsb(n);
        for (size_t i = 0; i < n; i++) {
            size_t po = emu_offset(shape, pst, i);
            double pp = sp.get(po), bb = sb.get(i);
            sgd_ref(dt, hs, hasBuf, s.first, pp, bb, g.get(i));
            wsp[po] = pp; wsb[i] = bb;
        }
        Geom sg = emu_geom(shape, {pst, hasBuf ? cst : ivec{0, 0}, cst});
        if (dev) {
            vec<double> sc{hs.lr, s.first ? 1.0 : 0.0};
            LAUNCH(sgd_step_dev, dim3(grid), dim3(256), sp.data(), hasBuf ? sb.data() : nullptr, g.data(), dt, sc.data(), hs.momentum, hs.dampening,
                   hs.wd, hs.nesterov, hasBuf ? 1 : 0, sg);
        } else {
            LAUNCH(sgd_step, dim3(grid), dim3(256), sp.data(), hasBuf ? sb.data() : nullptr, g.data(), dt, hs.lr, hs.momentum, hs.dampening, hs.wd,
                   hs.nesterov, s.first ? 1 : 0, hasBuf ? 1 : 0, sg);
        }
        char name[200];
        std::snprintf(name, sizeof name, "%s momentum%g nesterov%d first%d %s", dev ? "sgd_step_dev" : "sgd_step", s.momentum, s.nesterov, s.first, tag);
        emu_check((std::string(name) + " p").c_str(), sp.floats(), wsp, tol);
        if (hasBuf) emu_check((std::string(name) + " buf").c_str(), sb.floats(), wsb, tol);
    }
}

// Checks the elements inside the tensors against the reference and the gaps for their sentinel.
static void check_multi(const std::string& name, const EmuBuf& got, const std::vector<double>& want, const std::vector<bool>& inside, double tol) {
    vec<float> g;
    std::vector<double> w;
    int gapsWritten = 0;
    for (size_t i = 0; i < inside.size(); i++) {
        if (inside[i]) { g.push_back(got.get(i)); w.push_back(want[i]); }
        else if (got.get(i) != 4096.0f) gapsWritten++;
    }
    if (gapsWritten) { std::printf("FAIL %s: %d elements between the tensors written\n", name.c_str(), gapsWritten); emu_failures++; }
    emu_check(name.c_str(), g, w, tol);
}

// Multi-tensor kernels over tensors of sizes `sizes` (one TensorList, chunk elements per block), each
// tensor with its own step (AdamW) / first flag (SGD).
static void run_multi(int dt, const std::vector<int>& sizes, int chunk) {
    const int GAP = 5;
    const float SENT = 4096.0f;
    size_t total = 0;
    std::vector<size_t> at;
    for (int s : sizes) { at.push_back(total + GAP); total += GAP + s; }
    total += GAP;
    TensorList tl;
    std::memset(&tl, 0, sizeof tl);
    tl.chunk = chunk;
    Adam h{3e-3, 0.9, 0.95, 1e-6, 0.1};
    EmuBuf p = emu_rand_buf(dt, total, 11, -1, 1), m = emu_rand_buf(dt, total, 12, -0.1f, 0.1f), v = emu_rand_buf(dt, total, 13, 0, 0.01f),
           g = emu_rand_buf(dt, total, 14, -1, 1);
    std::vector<bool> inside(total, false);
    for (size_t k = 0; k < sizes.size(); k++)
        for (int i = 0; i < sizes[k]; i++) inside[at[k] + i] = true;
    for (size_t i = 0; i < total; i++)
        if (!inside[i]) { p.set(i, SENT); m.set(i, SENT); v.set(i, SENT); }
    std::vector<double> wp(total), wm(total), wv(total);
    for (size_t i = 0; i < total; i++) { wp[i] = p.get(i); wm[i] = m.get(i); wv[i] = v.get(i); }
    for (size_t k = 0; k < sizes.size(); k++) {
        long long t = 1 + (long long)k * 7;  // each tensor its own step
        for (int i = 0; i < sizes[k]; i++) {
            size_t j = at[k] + i;
            adam_ref(dt, h, t, wp[j], wm[j], wv[j], g.get(j));
        }
        int e = EmuBuf::size(dt);
        tl.p[k] = (long long)(p.bytes.data() + at[k] * e);
        tl.a[k] = (long long)(m.bytes.data() + at[k] * e);
        tl.b[k] = (long long)(v.bytes.data() + at[k] * e);
        tl.g[k] = (long long)(g.bytes.data() + at[k] * e);
        tl.s0[k] = h.lr / (1 - std::pow(h.b1, (double)t));
        tl.s1[k] = std::sqrt(1 - std::pow(h.b2, (double)t));
        tl.numel[k] = sizes[k];
        tl.blockStart[k + 1] = tl.blockStart[k] + (sizes[k] + chunk - 1) / chunk;
        tl.count = (int)k + 1;
    }
    char tag[160];
    std::string sz;
    for (int s : sizes) sz += std::to_string(s) + ",";
    std::snprintf(tag, sizeof tag, "%s %zu tensors {%s} chunk %d, %d blocks", emu_dtname(dt), sizes.size(), sz.c_str(), chunk, tl.blockStart[tl.count]);
    LAUNCH(adamw_multi, dim3(tl.blockStart[tl.count]), dim3(256), tl, dt, h.b1, h.b2, h.eps, 1 - h.lr * h.wd);
    double tol = dt == DT_F32 ? 1e-6 : 8e-3;
    check_multi(std::string("adamw_multi p ") + tag, p, wp, inside, tol);
    check_multi(std::string("adamw_multi exp_avg ") + tag, m, wm, inside, tol);
    check_multi(std::string("adamw_multi exp_avg_sq ") + tag, v, wv, inside, tol);

    for (int withBuf = 0; withBuf < 2; withBuf++) {
        Sgd hs{0.05, withBuf ? 0.9 : 0.0, 0.0, 1e-3, withBuf};
        EmuBuf sp = emu_rand_buf(dt, total, 15, -1, 1), sb = emu_rand_buf(dt, total, 16, -1, 1);
        for (size_t i = 0; i < total; i++)
            if (!inside[i]) { sp.set(i, SENT); sb.set(i, SENT); }
        std::vector<double> wsp(total), wsb(total);
        for (size_t i = 0; i < total; i++) { wsp[i] = sp.get(i); wsb[i] = sb.get(i); }
        for (size_t k = 0; k < sizes.size(); k++) {
            bool first = k % 2 == 0;
            for (int i = 0; i < sizes[k]; i++) sgd_ref(dt, hs, withBuf, first, wsp[at[k] + i], wsb[at[k] + i], g.get(at[k] + i));
            int e = EmuBuf::size(dt);
            tl.p[k] = (long long)(sp.bytes.data() + at[k] * e);
            tl.a[k] = withBuf ? (long long)(sb.bytes.data() + at[k] * e) : 0;
            tl.b[k] = 0;
            tl.s0[k] = first ? 1 : 0;
            tl.s1[k] = 0;
        }
        LAUNCH(sgd_multi, dim3(tl.blockStart[tl.count]), dim3(256), tl, dt, hs.lr, hs.momentum, hs.dampening, hs.wd, hs.nesterov);
        std::string name = std::string(withBuf ? "sgd_multi nesterov " : "sgd_multi plain ") + tag;
        check_multi(name + " p", sp, wsp, inside, tol);
        if (withBuf) check_multi(name + " buf", sb, wsb, inside, tol);
    }
}

int main() {
    for (int dt : {DT_F32, DT_BF16}) {
        run_single(dt, 37, 29, false);
        run_single(dt, 37, 29, true);
        run_multi(dt, {1, 257, 1000, 3, 64}, 100);                   // many blocks per tensor, partial last chunks
        run_multi(dt, {65537, 7, 131072, 1}, 65536);                 // CudaOptim.CHUNK: exact and one-over chunks
    }
    run_single(DT_F16, 5, 9, false);
    std::printf(emu_failures ? "%d FAILED\n" : "all passed\n", emu_failures);
    return emu_failures ? 1 : 0;
}
