// Runs kernels/elementwise.cu and kernels/cast.cu on the host emulator (or, built by nvcc, on the GPU),
// launched as backend/cuda/Cuda{Elementwise,Copy}.java do (grid-stride over a Geom, 256 threads), on
// broadcast and transposed operands in F32, BF16 and F16, against a double-precision reference. In
// host mode the F16 conversions common.cuh carries for the emulator (instead of PTX cvt) are also
// checked exhaustively against the compiler's _Float16.
#include "emu.h"
#include "../elementwise.cu"
#include "../cast.cu"
#include "emu_util.h"

static const ivec SHAPE{7, 9, 5};
static const ivec OST = emu_contig(SHAPE);         // output: contiguous
static const ivec AST{1, 35, 7};                   // a: a transposed view of a [9, 5, 7]-ish buffer (dims permuted)
static const ivec BST{0, 1, 0};                    // b: [1, 9, 1] broadcast
static const long long N = 7 * 9 * 5;

static double unary_ref(int op, double x) {
    switch (op) {
        case 0: return -x;
        case 1: return std::exp(x);
        case 2: return std::log(x);
        case 3: return std::sqrt(x);
        case 4: return 1 / std::sqrt(x);
        case 5: return std::tanh(x);
        case 6: return 1 / (1 + std::exp(-x));
        case 7: return x > 0 ? x : 0;
        case 8: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
        case 9: return x / (1 + std::exp(-1.702 * x));
        default: return std::fabs(x);
    }
}
static double unary_deriv(int op, double x) {
    double s;
    switch (op) {
        case 0: return -1;
        case 1: return std::exp(x);
        case 2: return 1 / x;
        case 3: return 0.5 / std::sqrt(x);
        case 4: return -0.5 * std::pow(x, -1.5);
        case 5: return 1 - std::tanh(x) * std::tanh(x);
        case 6: s = 1 / (1 + std::exp(-x)); return s * (1 - s);
        case 7: return x > 0 ? 1 : 0;
        case 8: return 0.5 * (1 + std::erf(x / std::sqrt(2.0))) + x * std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI);
        case 9: s = 1 / (1 + std::exp(-1.702 * x)); return s + 1.702 * x * s * (1 - s);
        default: return x > 0 ? 1 : x < 0 ? -1 : 0;
    }
}
static double binary_ref(int op, double a, double b) {
    switch (op) {
        case 0: return a + b;
        case 1: return a - b;
        case 2: return a * b;
        case 3: return a / b;
        case 4: return std::pow(a, b);
        case 5: return std::max(a, b);
        case 6: return std::min(a, b);
        case 7: return b - a;
        default: return b / a;
    }
}
static const char* UN[] = {"neg", "exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid", "relu", "gelu", "quick_gelu", "abs"};
static const char* BIN[] = {"add", "sub", "mul", "div", "pow", "max", "min", "rsub", "rdiv"};

static void run_elementwise(int dt) {
    size_t abuf = 9 * 5 * 7;
    std::string t = std::string(" ") + emu_dtname(dt) + " [7,9,5] a transposed, b [1,9,1] broadcast";
    EmuBuf a = emu_rand_buf(dt, abuf, 1, -3, 3), ap = emu_rand_buf(dt, abuf, 2, 0.2f, 3), b = emu_rand_buf(dt, 9, 3, 0.5f, 2);
    EmuBuf gy = emu_rand_buf(dt, N, 4, -1, 1);
    auto A = [&](const EmuBuf& x, long long i) { return (double)x.get(emu_offset(SHAPE, AST, i)); };
    auto B = [&](long long i) { return (double)b.get(emu_offset(SHAPE, BST, i)); };
    Geom g2 = emu_geom(SHAPE, {OST, AST}), g3 = emu_geom(SHAPE, {OST, AST, BST});
    unsigned grid = emu_grid_for(N);
    for (int op = 0; op <= 10; op++) {
        const EmuBuf& x = (op >= 2 && op <= 4) ? ap : a;  // log / sqrt / rsqrt on positive inputs
        std::vector<double> w(N), wd(N);
        for (long long i = 0; i < N; i++) w[i] = unary_ref(op, A(x, i));
        EmuBuf out(dt, N);
        LAUNCH(ew_unary, dim3(grid), dim3(256), out.data(), dt, x.data(), dt, op, g2);
        emu_check((std::string("ew_unary ") + UN[op] + t).c_str(), out.floats(), w, emu_tol(dt, 2e-6));
        // backward: x transposed, y = the kernel's output (contiguous), gy contiguous
        for (long long i = 0; i < N; i++) wd[i] = gy.get(i) * unary_deriv(op, A(x, i));
        EmuBuf gx(dt, N);
        Geom g4 = emu_geom(SHAPE, {OST, AST, OST, OST});
        LAUNCH(ew_unary_backward, dim3(grid), dim3(256), gx.data(), dt, x.data(), out.data(), gy.data(), dt, op, g4);
        emu_check((std::string("ew_unary_backward ") + UN[op] + t).c_str(), gx.floats(), wd, dt == DT_F32 ? 1e-5 : 2e-2);
    }
    for (int op = 0; op <= 8; op++) {
        const EmuBuf& x = op == 4 ? ap : a;
        std::vector<double> w(N), ws(N);
        for (long long i = 0; i < N; i++) { w[i] = binary_ref(op, A(x, i), B(i)); ws[i] = binary_ref(op, A(x, i), 1.75); }
        EmuBuf out(dt, N), outs(dt, N);
        LAUNCH(ew_binary, dim3(grid), dim3(256), out.data(), dt, x.data(), dt, b.data(), dt, op, g3);
        LAUNCH(ew_binary_scalar, dim3(1), dim3(256), outs.data(), dt, x.data(), dt, 1.75f, op, g2);
        emu_check((std::string("ew_binary ") + BIN[op] + t).c_str(), out.floats(), w, emu_tol(dt, 2e-6));
        emu_check((std::string("ew_binary_scalar ") + BIN[op] + " grid 1" + t).c_str(), outs.floats(), ws, emu_tol(dt, 2e-6));
    }
    // max/min propagate NaN (either side)
    {
        EmuBuf x(dt, 4), y(dt, 4), out(dt, 4);
        float xv[] = {1, NAN, 2, NAN}, yv[] = {NAN, 1, 3, NAN};
        for (int i = 0; i < 4; i++) { x.set(i, xv[i]); y.set(i, yv[i]); }
        Geom g = emu_geom({4}, {{1}, {1}, {1}});
        bool ok = true;
        for (int op = 5; op <= 6; op++) {
            out.fill_nan();
            LAUNCH(ew_binary, dim3(1), dim3(256), out.data(), dt, x.data(), dt, y.data(), dt, op, g);
            ok = ok && std::isnan(out.get(0)) && std::isnan(out.get(1)) && out.get(2) == (op == 5 ? 3 : 2) && std::isnan(out.get(3));
        }
        std::printf("%s ew_binary max/min propagate NaN %s\n", ok ? "ok  " : "FAIL", emu_dtname(dt));
        if (!ok) emu_failures++;
    }
    // axpby into a transposed destination (read and written through its strides), src broadcast
    {
        EmuBuf d = a;
        std::vector<double> w(abuf);
        for (size_t i = 0; i < abuf; i++) w[i] = a.get(i);
        for (long long i = 0; i < N; i++) w[emu_offset(SHAPE, AST, i)] = A(a, i) * 0.5 + B(i) * -2.0;
        LAUNCH(ew_axpby, dim3(grid), dim3(256), d.data(), dt, b.data(), dt, 0.5f, -2.0f, emu_geom(SHAPE, {AST, BST}));
        emu_check((std::string("ew_axpby dst transposed, src broadcast ") + emu_dtname(dt)).c_str(), d.floats(), w, emu_tol(dt, 2e-6));
    }
    // compare (exact) and where
    const char* CMP[] = {"eq", "ne", "lt", "le", "gt", "ge"};
    EmuBuf q = emu_rand_buf(dt, abuf, 5, 0, 3);
    for (size_t i = 0; i < abuf; i++) q.set(i, std::floor(q.get(i)));  // small integers: equal values happen
    EmuBuf bq(dt, 9);
    for (int i = 0; i < 9; i++) bq.set(i, (float)(i % 3));
    for (int op = 0; op < 6; op++) {
        vec<unsigned char> out(N, 7);
        LAUNCH(ew_compare, dim3(grid), dim3(256), out.data(), q.data(), dt, bq.data(), dt, op, g3);
        vec<float> got(N);
        std::vector<double> w(N);
        for (long long i = 0; i < N; i++) {
            double x = A(q, i), y = bq.get(emu_offset(SHAPE, BST, i));
            bool r = op == 0 ? x == y : op == 1 ? x != y : op == 2 ? x < y : op == 3 ? x <= y : op == 4 ? x > y : x >= y;
            w[i] = r;
            got[i] = out[i];
        }
        emu_check((std::string("ew_compare ") + CMP[op] + t).c_str(), got, w, 0);
    }
    {
        vec<unsigned char> cond(5);
        for (int i = 0; i < 5; i++) cond[i] = i % 2;
        ivec cst{0, 0, 1};  // cond [5] broadcast over the last dim
        EmuBuf out(dt, N);
        std::vector<double> w(N);
        for (long long i = 0; i < N; i++) w[i] = cond[emu_offset(SHAPE, cst, i)] ? A(a, i) : B(i);
        LAUNCH(ew_where, dim3(grid), dim3(256), out.data(), dt, cond.data(), a.data(), dt, b.data(), dt, emu_geom(SHAPE, {OST, cst, AST, BST}));
        emu_check((std::string("ew_where cond [5] broadcast") + t).c_str(), out.floats(), w, 0);
    }
}

// cast_copy from every dtype to every dtype (source transposed, F16 specials), cast_copy_raw, cast_fill.
static void run_cast() {
    const int DTS[] = {DT_F32, DT_BF16, DT_F16, DT_I32, DT_I64, DT_BOOL};
    size_t n = 9 * 5 * 7;
    Geom g = emu_geom(SHAPE, {OST, AST});
    float specials[] = {65504.f, 65519.f, 65520.f, 1e6f, -70000.f, 6.1035156e-05f, 5.9604645e-08f, 2.9802322e-08f, 2.9802326e-08f, 8.940697e-08f,
                        1.0009766f, 1.0004883f, 1.0014648f, -0.f, 3.0e-39f, 0.33333334f};
    for (int sdt : DTS) {
        EmuBuf src = emu_rand_buf(sdt, n, 7 + sdt, -40, 40);
        if (sdt == DT_F32)
            for (size_t i = 0; i < sizeof specials / sizeof *specials; i++) src.set(i * 3, specials[i]);
        for (int ddt : DTS) {
            EmuBuf dst(ddt, N);
            std::vector<double> w(N);
            for (long long i = 0; i < N; i++) {
                long long so = emu_offset(SHAPE, AST, i);
                EmuBuf one(ddt, 1);
                bool si = sdt >= DT_I32, di = ddt >= DT_I32;
                if (si && di) one.seti(0, src.geti(so));
                else if (di) one.seti(0, (long long)src.get(so));
                else one.set(0, src.get(so));
                w[i] = one.get(0);
            }
            LAUNCH(cast_copy, dim3(emu_grid_for(N)), dim3(256), dst.data(), ddt, src.data(), sdt, g);
            char name[96];
            std::snprintf(name, sizeof name, "cast_copy %s -> %s (source transposed%s)", emu_dtname(sdt), emu_dtname(ddt),
                          sdt == DT_F32 ? ", f16 edge values" : "");
            emu_check(name, dst.floats(), w, 0);
        }
        // raw copy of the same dtype through a broadcast source
        EmuBuf raw(sdt, N);
        std::vector<double> w(N);
        for (long long i = 0; i < N; i++) w[i] = src.get(emu_offset(SHAPE, BST, i));
        LAUNCH(cast_copy_raw, dim3(1), dim3(256), raw.data(), src.data(), EmuBuf::size(sdt), emu_geom(SHAPE, {OST, BST}));
        emu_check((std::string("cast_copy_raw broadcast ") + emu_dtname(sdt)).c_str(), raw.floats(), w, 0);
        // fill a transposed destination
        EmuBuf f(sdt, n);
        LAUNCH(cast_fill, dim3(emu_grid_for(N)), dim3(256), f.data(), sdt, -3.0, emu_geom(SHAPE, {AST}));
        std::vector<double> wf(n, sdt == DT_BOOL ? 1.0 : -3.0);
        emu_check((std::string("cast_fill ") + emu_dtname(sdt)).c_str(), f.floats(), wf, 0);
    }
}

#ifdef CLIPVIL_HOST_EMULATION
// common.cuh's host F16 conversions against the compiler's _Float16: every half, and floats around
// every rounding boundary (each half, the midpoints to its neighbours and one ulp either side) plus a
// sweep of all float exponents.
static void check_f16_exhaustive() {
    long long bad = 0, tried = 0;
    for (unsigned h = 0; h < 65536; h++) {
        _Float16 x;
        unsigned short hs = (unsigned short)h;
        std::memcpy(&x, &hs, 2);
        float want = (float)x, got = f16_to_f32(hs);
        tried++;
        if (!(emu_f2u(want) == emu_f2u(got) || (std::isnan(want) && std::isnan(got)))) bad++;
    }
    auto one = [&](float f) {
        _Float16 x = (_Float16)f;
        unsigned short want;
        std::memcpy(&want, &x, 2);
        unsigned short got = f32_to_f16(f), ref = emu_to_f16(f);
        tried++;
        bool nan = std::isnan(f);
        if (nan ? ((got & 0x7c00) != 0x7c00 || !(got & 0x3ff)) : (got != want || ref != want)) bad++;
    };
    for (unsigned h = 0; h < 0x7c00; h++) {
        float lo = f16_to_f32((unsigned short)h), hi = f16_to_f32((unsigned short)(h + 1));
        float mid = (float)(((double)lo + (double)hi) / 2);
        for (float s : {1.f, -1.f})
            for (float f : {lo, mid, std::nextafter(mid, 0.f), std::nextafter(mid, 1e9f), std::nextafter(lo, 1e9f)}) one(s * f);
    }
    for (unsigned long long u = 0; u < 0x100000000ull; u += 4093) one(emu_u2f((unsigned)u));
    std::printf("%s f16 conversions of common.cuh (host) vs _Float16: %lld of %lld differ\n", bad ? "FAIL" : "ok  ", bad, tried);
    if (bad) emu_failures++;
}
#endif

int main() {
#ifdef CLIPVIL_HOST_EMULATION
    check_f16_exhaustive();
#endif
    for (int dt : {DT_F32, DT_BF16, DT_F16}) run_elementwise(dt);
    run_cast();
    std::printf(emu_failures ? "%d FAILED\n" : "all passed\n", emu_failures);
    return emu_failures ? 1 : 0;
}
