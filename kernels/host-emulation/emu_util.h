// Helpers of the drivers of the simple kernel families (reduce, softmax, loss, optim, norm, pool,
// index, random, elementwise, cast): the Geom packing of backend/cuda/Geometry.java, host-side dtype
// conversions, typed buffers and strided views. Include after the kernel file (it needs common.cuh's
// Geom and DT_* codes); host code only, so it works in both modes (emulation and `run.sh --gpu`).
#pragma once
#include <cstdint>
#include <initializer_list>

using ivec = std::vector<int>;

// Geometry.of(shape, operandStrides...): drop size-1 dims, merge neighbours every operand walks as one
// block, pad to MAX_RANK with dims 1 and strides 0 (Geometry.writeTo).
inline Geom emu_geom(const ivec& shape, const std::vector<ivec>& st) {
    int ops = (int)st.size();
    long long numel = 1;
    for (int d : shape) numel *= d;
    ivec d;
    std::vector<ivec> s(ops);
    for (size_t i = 0; i < shape.size(); i++) {
        if (shape[i] == 1) continue;
        d.push_back(shape[i]);
        for (int k = 0; k < ops; k++) s[k].push_back(st[k][i]);
    }
    ivec md;
    std::vector<ivec> ms(ops);
    for (size_t i = 0; i < d.size(); i++) {
        if (!md.empty()) {
            bool merge = true;
            for (int k = 0; k < ops && merge; k++) merge = ms[k].back() == s[k][i] * d[i];
            if (merge) {
                md.back() *= d[i];
                for (int k = 0; k < ops; k++) ms[k].back() = s[k][i];
                continue;
            }
        }
        md.push_back(d[i]);
        for (int k = 0; k < ops; k++) ms[k].push_back(s[k][i]);
    }
    if (md.empty()) {
        md.push_back(numel == 0 ? 0 : 1);
        for (int k = 0; k < ops; k++) ms[k].push_back(0);
    }
    if (numel == 0) {
        md.assign(1, 0);
        for (int k = 0; k < ops; k++) ms[k].assign(1, 0);
    }
    if ((int)md.size() > MAX_RANK) { std::fprintf(stderr, "emu_geom: rank %zu after merging\n", md.size()); std::exit(2); }
    Geom g;
    std::memset(&g, 0, sizeof g);
    g.rank = (int)md.size();
    g.numel = (int)numel;
    for (int i = 0; i < MAX_RANK; i++) g.dims[i] = i < g.rank ? md[i] : 1;
    for (int k = 0; k < ops; k++)
        for (int i = 0; i < g.rank; i++) g.st[k][i] = ms[k][i];
    return g;
}

inline ivec emu_contig(const ivec& shape) {
    ivec st(shape.size());
    int s = 1;
    for (int i = (int)shape.size() - 1; i >= 0; i--) { st[i] = s; s *= shape[i]; }
    return st;
}
inline long long emu_numel(const ivec& shape) {
    long long n = 1;
    for (int d : shape) n *= d;
    return n;
}
// Logical (row-major) index i of `shape` -> element offset with strides st.
inline long long emu_offset(const ivec& shape, const ivec& st, long long i) {
    long long off = 0;
    for (int d = (int)shape.size() - 1; d >= 0; d--) {
        off += (i % shape[d]) * st[d];
        i /= shape[d];
    }
    return off;
}

// ---- host dtype conversions (independent of common.cuh's device code) ----------------------------
inline float emu_from_f16(unsigned short h) {
    unsigned sign = (h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1f) return emu_u2f(sign | 0x7f800000u | (m << 13));
    if (e == 0) return (sign ? -1.f : 1.f) * std::ldexp((float)m, -24);
    return emu_u2f(sign | ((e + 112) << 23) | (m << 13));
}
// Round to nearest even through double arithmetic (a different route from common.cuh's integer one).
inline unsigned short emu_to_f16(float f) {
    unsigned u = emu_f2u(f), sign = (u >> 16) & 0x8000u;
    if (std::isnan(f)) return (unsigned short)(sign | 0x7e00u | ((u >> 13) & 0x3ffu));
    double a = std::fabs((double)f);
    if (a >= 65520.0) return (unsigned short)(sign | 0x7c00u);
    int e;
    std::frexp(a, &e);                       // a = m 2^e, m in [0.5, 1)
    int q = std::max(e - 11, -24);           // quantum of the half grid at a: 2^q
    double units = std::nearbyint(std::ldexp(a, -q));  // default rounding mode: to nearest even
    double r = std::ldexp(units, q);
    if (r == 0) return (unsigned short)sign;
    int re;
    std::frexp(r, &re);
    unsigned bits;
    if (re <= -14) bits = (unsigned)std::ldexp(r, 24);                                   // subnormal
    else bits = ((unsigned)(re - 1 + 15) << 10) | ((unsigned)std::ldexp(r, 11 - re) & 0x3ffu);
    return (unsigned short)(sign | bits);
}

// A buffer of n elements of dtype dt (DT_F32, DT_BF16, DT_F16, DT_I32, DT_I64, DT_BOOL), host-filled.
struct EmuBuf {
    int dt;
    vec<unsigned char> bytes;
    static int size(int dt) { return dt == DT_F32 || dt == DT_I32 ? 4 : dt == DT_I64 ? 8 : dt == DT_BOOL ? 1 : 2; }
    EmuBuf(int dt_, size_t n) : dt(dt_), bytes(n * size(dt_) + 16) { fill_nan(); }
    size_t n() const { return (bytes.size() - 16) / size(dt); }
    void* data() { return bytes.data(); }
    const void* data() const { return bytes.data(); }
    void fill_nan() {
        for (size_t i = 0; i < n(); i++) {
            if (dt == DT_F32 || dt == DT_BF16 || dt == DT_F16) set(i, NAN);
            else std::memset(bytes.data() + i * size(dt), 0xa5, size(dt));  // an odd pattern
        }
    }
    float get(size_t i) const {
        const unsigned char* p = bytes.data() + i * size(dt);
        switch (dt) {
            case DT_F32: { float f; std::memcpy(&f, p, 4); return f; }
            case DT_BF16: { unsigned short h; std::memcpy(&h, p, 2); return emu_from_bf16(h); }
            case DT_F16: { unsigned short h; std::memcpy(&h, p, 2); return emu_from_f16(h); }
            case DT_I32: { int v; std::memcpy(&v, p, 4); return (float)v; }
            case DT_I64: { long long v; std::memcpy(&v, p, 8); return (float)v; }
            default: return (float)*p;
        }
    }
    long long geti(size_t i) const {
        const unsigned char* p = bytes.data() + i * size(dt);
        if (dt == DT_I32) { int v; std::memcpy(&v, p, 4); return v; }
        if (dt == DT_I64) { long long v; std::memcpy(&v, p, 8); return v; }
        if (dt == DT_BOOL) return *p;
        return (long long)get(i);
    }
    // Stores v rounded to the dtype (floating) or converted (integer).
    void set(size_t i, float v) {
        unsigned char* p = bytes.data() + i * size(dt);
        switch (dt) {
            case DT_F32: std::memcpy(p, &v, 4); break;
            case DT_BF16: { unsigned short h = emu_to_bf16(v); std::memcpy(p, &h, 2); break; }
            case DT_F16: { unsigned short h = emu_to_f16(v); std::memcpy(p, &h, 2); break; }
            default: seti(i, (long long)v); break;
        }
    }
    void seti(size_t i, long long v) {
        unsigned char* p = bytes.data() + i * size(dt);
        if (dt == DT_I32) { int x = (int)v; std::memcpy(p, &x, 4); }
        else if (dt == DT_I64) std::memcpy(p, &v, 8);
        else if (dt == DT_BOOL) *p = v != 0;
        else set(i, (float)v);
    }
    vec<float> floats() const {
        vec<float> o(n());
        for (size_t i = 0; i < n(); i++) o[i] = get(i);
        return o;
    }
};

// A buffer of random values in [lo, hi), each already representable in dt.
inline EmuBuf emu_rand_buf(int dt, size_t n, unsigned seed, float lo, float hi) {
    EmuBuf b(dt, n);
    std::mt19937 r(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    for (size_t i = 0; i < n; i++) b.set(i, d(r));
    return b;
}

// A strided view into a buffer: element at logical index i is buf[offset + emu_offset(shape, st, i)].
struct EmuView {
    ivec shape, st;
    int offset;
    long long numel() const { return emu_numel(shape); }
    long long at(long long i) const { return offset + emu_offset(shape, st, i); }
};
// A contiguous view of shape s permuted by perm: the view's dim i is the base's dim perm[i].
inline EmuView emu_permuted(const ivec& base, const ivec& perm, int offset = 0) {
    ivec bs = emu_contig(base), sh(perm.size()), st(perm.size());
    for (size_t i = 0; i < perm.size(); i++) { sh[i] = base[perm[i]]; st[i] = bs[perm[i]]; }
    return {sh, st, offset};
}
inline const char* emu_dtname(int dt) {
    static const char* n[] = {"f32", "bf16", "f16", "i32", "i64", "bool"};
    return n[dt];
}
// Grid of a grid-stride launch over n items (KernelLaunch.gridFor: 256 threads, capped at 16 per SM).
inline unsigned emu_grid_for(long long n, long long cap = 132 * 16) {
    long long b = (n + 255) / 256;
    return (unsigned)std::max(1LL, std::min(b, cap));
}
// Relative tolerance of a value stored in dt (its rounding), at least `f32`.
inline double emu_tol(int dt, double f32 = 1e-5) { return dt == DT_BF16 ? 8e-3 : dt == DT_F16 ? 1e-3 : f32; }
