// Runs kernels/attention.cu on the host emulator (or, built by nvcc, on the GPU) against a
// double-precision reference.
#include "emu.h"
#include "../attention.cu"

// Kernels around the device bodies, one template argument each (LAUNCH is a macro).
template <int D> __global__ void k_fwd_f32(FWD_PARAMS(float)) { attn_fwd_simt<float, D>(FWD_ARGS); }
template <int D> __global__ void k_fwd_bf16simt(FWD_PARAMS(bf16_t)) { attn_fwd_simt<bf16_t, D>(FWD_ARGS); }
template <int D> __global__ void k_fwd_bf16tc(FWD_PARAMS(bf16_t)) { attn_fwd_tc<D>(FWD_ARGS); }
template <int D> __global__ void k_bwd_f32(BWD_PARAMS(float)) { attn_bwd_simt<float, D>(BWD_ARGS); }
template <int D> __global__ void k_bwd_bf16simt(BWD_PARAMS(bf16_t)) { attn_bwd_simt<bf16_t, D>(BWD_ARGS); }
template <int D> __global__ void k_bwd_bf16tc(BWD_PARAMS(bf16_t)) { attn_bwd_tc<D>(BWD_ARGS); }
template <int D> __global__ void k_bwd_bf16tc_dyn(BWD_PARAMS(bf16_t)) { attn_bwd_tc_dyn<D>(BWD_ARGS); }
// mixed precision (BF16 q/k/v, F32 out / gOut / gradients)
template <int D> __global__ void k_fwd_mixed_tc(FWD_PARAMS_O(bf16_t, float)) { attn_fwd_tc<D, float>(FWD_ARGS); }
template <int D> __global__ void k_fwd_mixed_simt(FWD_PARAMS_O(bf16_t, float)) { attn_fwd_simt<bf16_t, D, float>(FWD_ARGS); }
template <int D> __global__ void k_bwd_mixed_tc(BWD_PARAMS_O(bf16_t, float)) { attn_bwd_tc<D, float>(BWD_ARGS); }
template <int D> __global__ void k_bwd_mixed_tc_dyn(BWD_PARAMS_O(bf16_t, float)) { attn_bwd_tc_dyn<D, float>(BWD_ARGS); }
template <int D> __global__ void k_bwd_mixed_simt(BWD_PARAMS_O(bf16_t, float)) { attn_bwd_simt<bf16_t, D, float>(BWD_ARGS); }
__global__ void k_prep_mixed(const float* gOut, const float* out, float* delta, float* dqAcc, bf16_t* gLow, int rows, int dim, int H, int Sq,
                             int gsb, int gsh, int gss, int gsd, int dqsb, int dqsh, int dqss, int dqsd, int osb, int osh, int oss, int osd) {
    attn_bwd_prep_mixed(gOut, out, delta, dqAcc, gLow, rows, dim, H, Sq, gsb, gsh, gss, gsd, dqsb, dqsh, dqss, dqsd, osb, osh, oss, osd);
}
template <typename T> __global__ void k_prep(const T* gOut, const T* out, float* delta, float* dqAcc, int rows, int dim, int H, int Sq,
                                             int dqsb, int dqsh, int dqss, int dqsd, int gsb, int gsh, int gss, int gsd,
                                             int osb, int osh, int oss, int osd) {
    attn_bwd_prep<T>(gOut, out, delta, dqAcc, rows, dim, H, Sq, dqsb, dqsh, dqss, dqsd, gsb, gsh, gss, gsd, osb, osh, oss, osd);
}

// Gradient destinations, in one buffer: separately (contiguous gq [B, H, Sq, D], then gk and gv
// [B, H, Sk, D]) or packed (the q / k / v slots of one [B, S, 3 x H x D] tensor with strides
// {S*3E, D, 3E, 1}, E = H x D; needs Sq == Sk), as a packed self-attention's backward writes them:
// the kernels fill the slots through those strides.
struct GradLayout {
    bool packed;
    int B, H, Sq, Sk, D;
    int len(int which) const { return which == 0 ? Sq : Sk; }
    size_t total() const { return (size_t)B * H * (Sq + 2 * Sk) * D; }
    void strides(int which, int st[4], size_t& base) const {
        if (packed) {
            st[0] = Sq * 3 * H * D; st[1] = D; st[2] = 3 * H * D; st[3] = 1; base = (size_t)which * H * D;
            return;
        }
        int S = len(which);
        st[0] = H * S * D; st[1] = S * D; st[2] = D; st[3] = 1;
        base = which == 0 ? 0 : (size_t)B * H * (Sq + (which - 1) * Sk) * D;
    }
    // the contiguous [B, H, S, D] values of slot `which` read out of buf (through the strides)
    template <typename V> V gather(const V& buf, int which) const {
        int st[4]; size_t base; strides(which, st, base);
        int S = len(which);
        V r((size_t)B * H * S * D);
        for (int b = 0; b < B; b++) for (int h = 0; h < H; h++) for (int i = 0; i < S; i++) for (int e = 0; e < D; e++)
            r[(((size_t)b * H + h) * S + i) * D + e] = buf[base + (size_t)b * st[0] + (size_t)h * st[1] + (size_t)i * st[2] + e];
        return r;
    }
};

// The gradient buffer starts as NaN and its three slots tile it exactly: every element must have been written.
template <typename V> static void checkTiled(const char* what, const V& buf, bool isNan(typename V::value_type)) {
    for (size_t x = 0; x < buf.size(); x++)
        if (isNan(buf[x])) {
            std::printf("FAIL %s: gradient element %zu never written\n", what, x);
            emu_failures++;
            return;
        }
}
static bool nanF(float x) { return x != x; }
static bool nanB(unsigned short x) { return (x & 0x7f80) == 0x7f80 && (x & 0x7f); }

struct Case {
    int B, H, Sq, Sk, dim;
    int maskKind;  // 0 none, 1 f32 additive (broadcast over B, H), 2 bool padding [B,1,1,Sk], 4 bool with an empty row [1,1,Sq,Sk]
    bool causal, permutedQ;
    bool packedGrads = false;  // gradients written into one packed [B, S, 3E] buffer (needs Sq == Sk)
};

struct Data {
    vec<float> q, k, v, go, maskF;
    vec<unsigned char> maskB;
    int qs[4], ks[4], vs[4], ms[4];
    int kind;  // kernel mask kind
};

static double maskAt(const Case& c, const Data& d, int b, int h, int i, int j) {
    if (d.kind == 0) return 0;
    long o = (long)b * d.ms[0] + (long)h * d.ms[1] + (long)i * d.ms[2] + (long)j * d.ms[3];
    if (d.kind == 1) return d.maskF[o];
    return d.maskB[o] ? 0.0 : -INFINITY;
}

static void reference(const Case& c, const Data& d, double scale, std::vector<double>& out, std::vector<double>& lse,
                      std::vector<double>& gq, std::vector<double>& gk, std::vector<double>& gv) {
    int D = c.dim;
    out.assign((size_t)c.B * c.H * c.Sq * D, 0);
    lse.assign((size_t)c.B * c.H * c.Sq, 0);
    gq.assign(out.size(), 0);
    gk.assign((size_t)c.B * c.H * c.Sk * D, 0);
    gv.assign(gk.size(), 0);
    auto Q = [&](int b, int h, int i, int e) { return (double)d.q[(long)b * d.qs[0] + (long)h * d.qs[1] + (long)i * d.qs[2] + e * d.qs[3]]; };
    auto K = [&](int b, int h, int j, int e) { return (double)d.k[(long)b * d.ks[0] + (long)h * d.ks[1] + (long)j * d.ks[2] + e * d.ks[3]]; };
    auto V = [&](int b, int h, int j, int e) { return (double)d.v[(long)b * d.vs[0] + (long)h * d.vs[1] + (long)j * d.vs[2] + e * d.vs[3]]; };
    std::vector<double> s(c.Sk), p(c.Sk);
    for (int b = 0; b < c.B; b++)
        for (int h = 0; h < c.H; h++)
            for (int i = 0; i < c.Sq; i++) {
                size_t row = ((size_t)b * c.H + h) * c.Sq + i;
                double m = -INFINITY;
                for (int j = 0; j < c.Sk; j++) {
                    double a = 0;
                    for (int e = 0; e < D; e++) a += Q(b, h, i, e) * K(b, h, j, e);
                    s[j] = (c.causal && j > i) ? -INFINITY : a * scale + maskAt(c, d, b, h, i, j);
                    m = std::max(m, s[j]);
                }
                if (m == -INFINITY) {
                    lse[row] = INFINITY;
                    continue;
                }
                double sum = 0;
                for (int j = 0; j < c.Sk; j++) sum += (p[j] = std::exp(s[j] - m));
                lse[row] = m + std::log(sum);
                for (int e = 0; e < D; e++) {
                    double a = 0;
                    for (int j = 0; j < c.Sk; j++) a += p[j] / sum * V(b, h, j, e);
                    out[row * D + e] = a;
                }
                double delta = 0;
                for (int e = 0; e < D; e++) delta += d.go[row * D + e] * out[row * D + e];
                for (int j = 0; j < c.Sk; j++) {
                    double pj = p[j] / sum;
                    if (pj == 0) continue;
                    double dp = 0;
                    for (int e = 0; e < D; e++) dp += d.go[row * D + e] * V(b, h, j, e);
                    double ds = pj * (dp - delta);
                    size_t kr = ((size_t)b * c.H + h) * c.Sk + j;
                    for (int e = 0; e < D; e++) {
                        gq[row * D + e] += scale * ds * K(b, h, j, e);
                        gk[kr * D + e] += scale * ds * Q(b, h, i, e);
                        gv[kr * D + e] += pj * d.go[row * D + e];
                    }
                }
            }
}

static Data make(const Case& c, bool bf16, unsigned seed) {
    Data d;
    int D = c.dim;
    d.q = emu_random((size_t)c.B * c.H * c.Sq * D, seed, -1, 1, bf16);
    d.k = emu_random((size_t)c.B * c.H * c.Sk * D, seed + 1, -1, 1, bf16);
    d.v = emu_random((size_t)c.B * c.H * c.Sk * D, seed + 2, -1, 1, bf16);
    d.go = emu_random((size_t)c.B * c.H * c.Sq * D, seed + 3, -1, 1, bf16);
    if (c.permutedQ) {  // storage [B, Sq, H, D]
        d.qs[0] = c.Sq * c.H * D; d.qs[1] = D; d.qs[2] = c.H * D; d.qs[3] = 1;
    } else {
        d.qs[0] = c.H * c.Sq * D; d.qs[1] = c.Sq * D; d.qs[2] = D; d.qs[3] = 1;
    }
    d.ks[0] = c.H * c.Sk * D; d.ks[1] = c.Sk * D; d.ks[2] = D; d.ks[3] = 1;
    for (int x = 0; x < 4; x++) d.vs[x] = d.ks[x];
    for (int x = 0; x < 4; x++) d.ms[x] = 0;
    d.kind = 0;
    if (c.maskKind == 1) {
        d.kind = 1;
        d.maskF = emu_random((size_t)c.Sq * c.Sk, seed + 4, -2, 2, false);
        d.ms[2] = c.Sk; d.ms[3] = 1;
    } else if (c.maskKind == 2) {
        d.kind = 2;
        d.maskB.resize((size_t)c.B * c.Sk);
        for (int b = 0; b < c.B; b++)
            for (int j = 0; j < c.Sk; j++) d.maskB[(size_t)b * c.Sk + j] = j < c.Sk - 7 - 3 * b;
        d.ms[0] = c.Sk; d.ms[3] = 1;
    } else if (c.maskKind == 4) {
        d.kind = 2;
        d.maskB.resize((size_t)c.Sq * c.Sk);
        for (int i = 0; i < c.Sq; i++)
            for (int j = 0; j < c.Sk; j++) d.maskB[(size_t)i * c.Sk + j] = !(i == 3 || (i + j) % 5 == 0);
        d.ms[2] = c.Sk; d.ms[3] = 1;
    }
    return d;
}

static vec<float> nanv(size_t n) { return vec<float>(n, NAN); }
static vec<unsigned short> nanb(size_t n) { return vec<unsigned short>(n, 0x7fc0); }

template <int DT>
static void runCase(const Case& c) {
    char name[160];
    double scale = 1.0 / std::sqrt((double)c.dim);
    // 0 f32, 1 bf16 tensor cores, 2 bf16 simt, 3 mixed tensor cores, 4 mixed simt (BF16 q/k/v; F32 out,
    // gOut (not BF16-valued: the pre-kernel's rounding is exercised) and gradients)
    for (int variant = 0; variant < 5; variant++) {
        bool bf16 = variant > 0, mixed = variant >= 3;
        Data d = make(c, bf16, 17 + c.Sq + c.dim);
        if (mixed) d.go = emu_random(d.go.size(), 17 + c.Sq + c.dim + 3, -1, 1, false);
        std::vector<double> rout, rlse, rgq, rgk, rgv;
        reference(c, d, scale, rout, rlse, rgq, rgk, rgv);
        size_t nq = (size_t)c.B * c.H * c.Sq * c.dim, rows = (size_t)c.B * c.H * c.Sq;
        const void* mask = d.kind == 1 ? (const void*)d.maskF.data() : d.kind == 2 ? (const void*)d.maskB.data() : nullptr;
        vec<float> lse = nanv(rows), delta = nanv(rows);
        vec<float> out32, gq32, gk32, gv32;
        // gradient destinations and their strides (dq: the F32 atomic buffer; gq itself for F32 / mixed)
        GradLayout gl{c.packedGrads, c.B, c.H, c.Sq, c.Sk, c.dim};
        GradLayout ql{false, c.B, c.H, c.Sq, c.Sk, c.dim};  // a BF16 run's dq is a contiguous F32 buffer
        int sq_[4], sk_[4], sv_[4];
        size_t oq, ok, ov;
        gl.strides(0, sq_, oq); gl.strides(1, sk_, ok); gl.strides(2, sv_, ov);
        const bool wideGrads = !bf16 || mixed;
        int dqs[4];
        size_t odq;
        if (wideGrads) { for (int x = 0; x < 4; x++) dqs[x] = sq_[x]; odq = oq; } else ql.strides(0, dqs, odq);
        vec<float> packF = nanv(gl.total());
        vec<float> dq = wideGrads ? vec<float>() : nanv(nq);
        float* dqp = wideGrads ? packF.data() + oq : dq.data();
        const char* vn = variant == 0 ? "f32" : variant == 1 ? (DT <= 64 ? "bf16-tc(bwd tc)" : "bf16-tc(bwd tc dyn)") : variant == 2 ? "bf16-simt"
                       : variant == 3 ? (DT <= 64 ? "mixed-tc(bwd tc)" : "mixed-tc(bwd tc dyn)") : "mixed-simt";
        // the kernels' stride and mask arguments, in their order
#define STRIDES d.qs[0], d.qs[1], d.qs[2], d.qs[3], d.ks[0], d.ks[1], d.ks[2], d.ks[3], d.vs[0], d.vs[1], d.vs[2], d.vs[3], \
                d.kind, d.ms[0], d.ms[1], d.ms[2], d.ms[3], (int)c.causal, (float)scale
#define GSTRIDES dqs[0], dqs[1], dqs[2], dqs[3], sk_[0], sk_[1], sk_[2], sk_[3], sv_[0], sv_[1], sv_[2], sv_[3]
        // the output and its gradient: contiguous [B, H, Sq, D], or (permuted q, packed) merged [B, Sq, H, D]
        // storage read and written through [B, H, Sq, D] strides, as a head-merged attention output is
        const bool merged = c.permutedQ || c.packedGrads;
        int os[4] = {c.H * c.Sq * c.dim, c.Sq * c.dim, c.dim, 1};
        if (merged) { os[0] = c.Sq * c.H * c.dim; os[1] = c.dim; os[2] = c.H * c.dim; }
        const int cs[4] = {c.H * c.Sq * c.dim, c.Sq * c.dim, c.dim, 1};  // contiguous (the mixed backward's gLow)
        auto toLayout = [&](const vec<float>& contig) {
            vec<float> r(contig.size(), NAN);
            for (int b = 0; b < c.B; b++) for (int h = 0; h < c.H; h++) for (int i = 0; i < c.Sq; i++) for (int e = 0; e < c.dim; e++)
                r[(size_t)b * os[0] + (size_t)h * os[1] + (size_t)i * os[2] + e] = contig[(((size_t)b * c.H + h) * c.Sq + i) * c.dim + e];
            return r;
        };
        auto fromLayout = [&](const vec<float>& laid) {
            vec<float> r(laid.size());
            for (int b = 0; b < c.B; b++) for (int h = 0; h < c.H; h++) for (int i = 0; i < c.Sq; i++) for (int e = 0; e < c.dim; e++)
                r[(((size_t)b * c.H + h) * c.Sq + i) * c.dim + e] = laid[(size_t)b * os[0] + (size_t)h * os[1] + (size_t)i * os[2] + e];
            return r;
        };
        const vec<float> goM = toLayout(d.go);
#define OSTRIDES os[0], os[1], os[2], os[3]
        const unsigned bh = (unsigned)(c.B * c.H);
        if (!bf16) {
            vec<float> out = nanv(nq);
            float *gk = packF.data() + ok, *gv = packF.data() + ov;
            LAUNCH(k_fwd_f32<DT>, dim3(bh, (c.Sq + 31) / 32, 1), dim3(128, 1, 1), d.q.data(), d.k.data(), d.v.data(), mask, out.data(),
                   lse.data(), c.B, c.H, c.Sq, c.Sk, c.dim, STRIDES, OSTRIDES);
            LAUNCH(k_prep<float>, dim3((unsigned)((rows + 3) / 4), 1, 1), dim3(128, 1, 1), goM.data(), out.data(), delta.data(), dqp,
                   (int)rows, c.dim, c.H, c.Sq, dqs[0], dqs[1], dqs[2], dqs[3], OSTRIDES, OSTRIDES);
            LAUNCH(k_bwd_f32<DT>, dim3(bh, (c.Sk + 15) / 16, 1), dim3(64, 1, 1), d.q.data(), d.k.data(), d.v.data(), goM.data(), lse.data(),
                   delta.data(), mask, dqp, gk, gv, c.B, c.H, c.Sq, c.Sk, c.dim, STRIDES, GSTRIDES, OSTRIDES);
            out32 = fromLayout(out);
        } else if (mixed) {  // F32 results straight from the kernels; gq is the F32 atomic buffer itself
            auto q = emu_bits(d.q), k = emu_bits(d.k), v = emu_bits(d.v);
            vec<float> out = nanv(nq);
            float *gk = packF.data() + ok, *gv = packF.data() + ov;
            auto gLow = nanb(nq);
            if (variant == 3)
                LAUNCH(k_fwd_mixed_tc<DT>, dim3(bh, (c.Sq + 63) / 64, 1), dim3(128, 1, 1), q.data(), k.data(), v.data(), mask, out.data(),
                       lse.data(), c.B, c.H, c.Sq, c.Sk, c.dim, STRIDES, OSTRIDES);
            else
                LAUNCH(k_fwd_mixed_simt<DT>, dim3(bh, (c.Sq + 31) / 32, 1), dim3(128, 1, 1), q.data(), k.data(), v.data(), mask, out.data(),
                       lse.data(), c.B, c.H, c.Sq, c.Sk, c.dim, STRIDES, OSTRIDES);
            // gOut and out read through strides (merged [B, Sq, H, D] storage in the permuted / packed cases)
            LAUNCH(k_prep_mixed, dim3((unsigned)((rows + 3) / 4), 1, 1), dim3(128, 1, 1), goM.data(), out.data(), delta.data(), dqp,
                   gLow.data(), (int)rows, c.dim, c.H, c.Sq, OSTRIDES, dqs[0], dqs[1], dqs[2], dqs[3], OSTRIDES);
            if (variant == 3) {
                if constexpr (DT <= 64)
                    LAUNCH(k_bwd_mixed_tc<DT>, dim3(bh, (c.Sk + 63) / 64, 1), dim3(128, 1, 1), q.data(), k.data(), v.data(), gLow.data(),
                           lse.data(), delta.data(), mask, dqp, gk, gv, c.B, c.H, c.Sq, c.Sk, c.dim, STRIDES, GSTRIDES, cs[0], cs[1], cs[2], cs[3]);
                else
                    LAUNCH_SMEM(k_bwd_mixed_tc_dyn<DT>, dim3(bh, (c.Sk + 63) / 64, 1), dim3(128, 1, 1), TB_SMEM_BYTES(DT, TB_KV_SMEM(DT)),
                                q.data(), k.data(), v.data(), gLow.data(), lse.data(), delta.data(), mask, dqp, gk, gv,
                                c.B, c.H, c.Sq, c.Sk, c.dim, STRIDES, GSTRIDES, cs[0], cs[1], cs[2], cs[3]);
            } else
                LAUNCH(k_bwd_mixed_simt<DT>, dim3(bh, (c.Sk + 15) / 16, 1), dim3(64, 1, 1), q.data(), k.data(), v.data(), gLow.data(),
                       lse.data(), delta.data(), mask, dqp, gk, gv, c.B, c.H, c.Sq, c.Sk, c.dim, STRIDES, GSTRIDES, cs[0], cs[1], cs[2], cs[3]);
            // the pre-kernel's copy is gOut rounded to nearest even
            for (size_t x = 0; x < nq; x++)
                if (gLow[x] != emu_to_bf16(d.go[x])) {
                    std::printf("FAIL %s gLow[%zu] is not bf16(gOut)\n", vn, x);
                    emu_failures++;
                    break;
                }
            out32 = fromLayout(out);
        } else {
            auto q = emu_bits(d.q), k = emu_bits(d.k), v = emu_bits(d.v), go = emu_bits(goM);
            auto out = nanb(nq), packB = nanb(gl.total());
            bf16_t *gk = packB.data() + ok, *gv = packB.data() + ov;
            if (variant == 1)
                LAUNCH(k_fwd_bf16tc<DT>, dim3(bh, (c.Sq + 63) / 64, 1), dim3(128, 1, 1), q.data(), k.data(), v.data(), mask, out.data(),
                       lse.data(), c.B, c.H, c.Sq, c.Sk, c.dim, STRIDES, OSTRIDES);
            else
                LAUNCH(k_fwd_bf16simt<DT>, dim3(bh, (c.Sq + 31) / 32, 1), dim3(128, 1, 1), q.data(), k.data(), v.data(), mask, out.data(),
                       lse.data(), c.B, c.H, c.Sq, c.Sk, c.dim, STRIDES, OSTRIDES);
            LAUNCH(k_prep<bf16_t>, dim3((unsigned)((rows + 3) / 4), 1, 1), dim3(128, 1, 1), go.data(), out.data(), delta.data(), dqp,
                   (int)rows, c.dim, c.H, c.Sq, dqs[0], dqs[1], dqs[2], dqs[3], OSTRIDES, OSTRIDES);
            if (variant == 1) {  // the tensor-core backward: static shared memory up to D = 64, dynamic above
                if constexpr (DT <= 64)
                    LAUNCH(k_bwd_bf16tc<DT>, dim3(bh, (c.Sk + 63) / 64, 1), dim3(128, 1, 1), q.data(), k.data(), v.data(), go.data(), lse.data(),
                           delta.data(), mask, dqp, gk, gv, c.B, c.H, c.Sq, c.Sk, c.dim, STRIDES, GSTRIDES, OSTRIDES);
                else
                    LAUNCH_SMEM(k_bwd_bf16tc_dyn<DT>, dim3(bh, (c.Sk + 63) / 64, 1), dim3(128, 1, 1), TB_SMEM_BYTES(DT, TB_KV_SMEM(DT)), q.data(),
                                k.data(), v.data(), go.data(), lse.data(), delta.data(), mask, dqp, gk, gv, c.B, c.H, c.Sq,
                                c.Sk, c.dim, STRIDES, GSTRIDES, OSTRIDES);
            } else
                LAUNCH(k_bwd_bf16simt<DT>, dim3(bh, (c.Sk + 15) / 16, 1), dim3(64, 1, 1), q.data(), k.data(), v.data(), go.data(), lse.data(),
                       delta.data(), mask, dqp, gk, gv, c.B, c.H, c.Sq, c.Sk, c.dim, STRIDES, GSTRIDES, OSTRIDES);
            // gq = bf16(dq): contiguous through the kernel; into a packed slot (the backend's strided cast copy) on the host
            if (!c.packedGrads) {
                LAUNCH(clipvil_attn_f32_to_bf16, dim3(4, 1, 1), dim3(256, 1, 1), dq.data(), packB.data() + oq, (long long)nq);
            } else {
                vec<unsigned short> gqC = nanb(nq);
                LAUNCH(clipvil_attn_f32_to_bf16, dim3(4, 1, 1), dim3(256, 1, 1), dq.data(), gqC.data(), (long long)nq);
                for (int b = 0; b < c.B; b++) for (int h = 0; h < c.H; h++) for (int i = 0; i < c.Sq; i++) for (int e = 0; e < c.dim; e++)
                    packB[oq + (size_t)b * sq_[0] + (size_t)h * sq_[1] + (size_t)i * sq_[2] + e] = gqC[(((size_t)b * c.H + h) * c.Sq + i) * c.dim + e];
            }
            out32 = fromLayout(emu_floats(out));
            gq32 = emu_floats(gl.gather(packB, 0)); gk32 = emu_floats(gl.gather(packB, 1)); gv32 = emu_floats(gl.gather(packB, 2));
            checkTiled(vn, packB, nanB);
        }
        if (wideGrads) {
            gq32 = gl.gather(packF, 0); gk32 = gl.gather(packF, 1); gv32 = gl.gather(packF, 2);
            checkTiled(vn, packF, nanF);
        }
#undef STRIDES
#undef GSTRIDES
#undef OSTRIDES
        double tol = bf16 ? 2e-2 : 1e-5;
        auto label = [&](const char* t) {
            std::snprintf(name, sizeof name, "%s %s B%d H%d Sq%d Sk%d dim%d(D%d) mask%d causal%d perm%d%s", vn, t, c.B, c.H, c.Sq, c.Sk, c.dim,
                          DT, c.maskKind, c.causal, c.permutedQ, c.packedGrads ? " packed-grads" : "");
            return name;
        };
        emu_check(label("out"), out32, rout, tol);
        emu_check(label("lse"), lse, rlse, tol);
        emu_check(label("gq"), gq32, rgq, tol);
        emu_check(label("gk"), gk32, rgk, tol);
        emu_check(label("gv"), gv32, rgv, tol);
    }
}

int main() {
    runCase<32>({1, 2, 50, 50, 32, 0, false, false});
    runCase<64>({2, 1, 77, 77, 64, 1, true, true});
    runCase<80>({1, 1, 20, 70, 80, 4, false, false});
    runCase<64>({1, 2, 33, 19, 48, 1, false, false});
    runCase<96>({2, 1, 50, 77, 96, 0, true, false});
    runCase<128>({2, 1, 70, 70, 128, 2, false, true});
    runCase<64>({2, 2, 130, 130, 64, 2, true, true});
    runCase<32>({1, 1, 20, 70, 32, 4, false, false});
    runCase<64>({1, 1, 77, 50, 64, 1, true, false});
    // the tensor-core backward at the large head dims (dynamic shared memory): odd lengths, a
    // partial head dim (dim < D), every mask kind, causal with Sq != Sk, permuted q
    runCase<80>({1, 2, 77, 50, 80, 1, true, true});
    runCase<96>({1, 1, 197, 40, 88, 2, false, false});
    runCase<128>({1, 1, 77, 77, 128, 1, true, false});
    runCase<128>({1, 1, 50, 131, 120, 4, false, true});
    // gradients written through strides into one packed [B, S, 3E] buffer (the packed self-attention's
    // backward): every mode, SIMT and tensor cores, static and dynamic shared memory, dim < D, masks, causal
    runCase<64>({2, 2, 77, 77, 64, 2, true, true, true});
    runCase<32>({1, 3, 50, 50, 32, 1, false, false, true});
    runCase<128>({1, 2, 70, 70, 120, 4, true, true, true});
    runCase<96>({2, 1, 50, 50, 96, 0, false, false, true});
    std::printf(emu_failures ? "%d FAILED\n" : "all passed\n", emu_failures);
    return emu_failures ? 1 : 0;
}
