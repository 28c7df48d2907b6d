// Runs kernels/layernorm.cu on the host emulator (or, built by nvcc, on the GPU) against a
// double-precision reference.
#include "emu.h"
#include "../layernorm.cu"

template <typename T> __global__ void k_fwd(const T* x, const float* w, const float* b, T* y, float* mean, float* rstd, int rows, int C, float eps) {
    ln_fwd<T, false>(x, nullptr, w, b, y, nullptr, mean, rstd, rows, C, eps);
}
template <typename T> __global__ void k_fwd_res(const T* x, const T* r, const float* w, const float* b, T* y, T* sum, float* mean, float* rstd,
                                                int rows, int C, float eps) {
    ln_fwd<T, true>(x, r, w, b, y, sum, mean, rstd, rows, C, eps);
}
template <typename T> __global__ void k_dx(const T* gy, const T* x, const float* w, const float* mean, const float* rstd, T* gx, int rows, int C) {
    ln_bwd_dx<T>(gy, x, w, mean, rstd, gx, rows, C);
}
template <typename T> __global__ void k_partial(const T* gy, const T* x, const float* mean, const float* rstd, float* pw, float* pb, int rows,
                                                int C, int rowsPerChunk) {
    ln_bwd_params_partial<T>(gy, x, mean, rstd, pw, pb, rows, C, rowsPerChunk);
}

struct Case {
    int rows, C;
    bool affine;
};

template <typename T>
static vec<T> conv(const vec<float>& v);
template <> vec<float> conv<float>(const vec<float>& v) { return v; }
template <> vec<bf16_t> conv<bf16_t>(const vec<float>& v) { return emu_bits(v); }
static vec<float> back(const vec<float>& v) { return v; }
static vec<float> back(const vec<bf16_t>& v) { return emu_floats(v); }

template <typename T>
static void run(const Case& c, bool bf16) {
    const double eps = 1e-5;
    int R = c.rows, C = c.C;
    auto x = emu_random((size_t)R * C, 5 + C, -2, 3, bf16), r = emu_random((size_t)R * C, 6 + C, -1, 1, bf16);
    auto gy = emu_random((size_t)R * C, 7 + C, -1, 1, bf16);
    auto w = emu_random(C, 8, 0.5f, 1.5f, false), b = emu_random(C, 9, -0.5f, 0.5f, false);
    const float* wp = c.affine ? w.data() : nullptr;
    const float* bp = c.affine ? b.data() : nullptr;

    // reference on a given input (x, or the rounded x + r)
    auto ref = [&](const vec<float>& in, std::vector<double>& y, std::vector<double>& mu, std::vector<double>& rs,
                   std::vector<double>& gx, std::vector<double>& gw, std::vector<double>& gb) {
        y.assign((size_t)R * C, 0); mu.assign(R, 0); rs.assign(R, 0); gx.assign((size_t)R * C, 0); gw.assign(C, 0); gb.assign(C, 0);
        for (int i = 0; i < R; i++) {
            double s = 0, v = 0;
            for (int j = 0; j < C; j++) s += in[(size_t)i * C + j];
            double m = s / C;
            for (int j = 0; j < C; j++) v += (in[(size_t)i * C + j] - m) * (in[(size_t)i * C + j] - m);
            double q = 1.0 / std::sqrt(v / C + eps);
            mu[i] = m; rs[i] = q;
            double s1 = 0, s2 = 0;
            for (int j = 0; j < C; j++) {
                double xh = (in[(size_t)i * C + j] - m) * q;
                double ww = c.affine ? w[j] : 1, bb = c.affine ? b[j] : 0;
                y[(size_t)i * C + j] = xh * ww + bb;
                double g = gy[(size_t)i * C + j] * ww;
                s1 += g; s2 += g * xh;
                gw[j] += gy[(size_t)i * C + j] * xh;
                gb[j] += gy[(size_t)i * C + j];
            }
            for (int j = 0; j < C; j++) {
                double xh = (in[(size_t)i * C + j] - m) * q;
                double g = (double)gy[(size_t)i * C + j] * (c.affine ? (double)w[j] : 1.0);
                gx[(size_t)i * C + j] = q * (g - s1 / C - xh * s2 / C);
            }
        }
    };
    std::vector<double> y, mu, rs, gx, gw, gb;
    ref(x, y, mu, rs, gx, gw, gb);

    auto xt = conv<T>(x), rt = conv<T>(r), gyt = conv<T>(gy);
    vec<T> yt(xt.size()), gxt(xt.size()), st(xt.size());
    vec<float> mean(R, NAN), rstd(R, NAN);
    for (auto& e : yt) e = (T)0; // poison below
    std::fill(yt.begin(), yt.end(), conv<T>({NAN})[0]);
    std::fill(gxt.begin(), gxt.end(), conv<T>({NAN})[0]);
    std::fill(st.begin(), st.end(), conv<T>({NAN})[0]);
    unsigned blocks = (R + 3) / 4;
    LAUNCH(k_fwd<T>, dim3(blocks, 1, 1), dim3(128, 1, 1), xt.data(), wp, bp, yt.data(), mean.data(), rstd.data(), R, C, (float)eps);
    LAUNCH(k_dx<T>, dim3(blocks, 1, 1), dim3(128, 1, 1), gyt.data(), xt.data(), wp, mean.data(), rstd.data(), gxt.data(), R, C);
    int rowsPerChunk = 5, chunks = (R + rowsPerChunk - 1) / rowsPerChunk;
    vec<float> pw((size_t)chunks * C, NAN), pb((size_t)chunks * C, NAN), gw32(C, NAN), gb32(C, NAN);
    LAUNCH(k_partial<T>, dim3((C + 31) / 32, chunks, 1), dim3(32, 8, 1), gyt.data(), xt.data(), mean.data(), rstd.data(), pw.data(), pb.data(),
           R, C, rowsPerChunk);
    LAUNCH(clipvil_ln_bwd_params_reduce, dim3((C + 255) / 256, 1, 1), dim3(256, 1, 1), pw.data(), pb.data(), gw32.data(), gb32.data(), chunks, C);

    char name[128];
    double tol = bf16 ? 2e-2 : 1e-5;
    const char* dn = bf16 ? "bf16" : "f32";
    auto L = [&](const char* t) { std::snprintf(name, sizeof name, "%s %s rows%d C%d affine%d", dn, t, R, C, c.affine); return name; };
    emu_check(L("y"), back(yt), y, tol);
    emu_check(L("mean"), mean, mu, tol);
    emu_check(L("rstd"), rstd, rs, tol);
    emu_check(L("gx"), back(gxt), gx, tol);
    emu_check(L("gw"), gw32, gw, tol);
    emu_check(L("gb"), gb32, gb, tol);

    // fused residual
    vec<float> sum((size_t)R * C);
    for (size_t i = 0; i < sum.size(); i++) {
        float s = x[i] + r[i];
        sum[i] = bf16 ? emu_from_bf16(emu_to_bf16(s)) : s;
    }
    ref(sum, y, mu, rs, gx, gw, gb);
    std::fill(yt.begin(), yt.end(), conv<T>({NAN})[0]);
    std::fill(mean.begin(), mean.end(), NAN);
    LAUNCH(k_fwd_res<T>, dim3(blocks, 1, 1), dim3(128, 1, 1), xt.data(), rt.data(), wp, bp, yt.data(), st.data(), mean.data(), rstd.data(), R, C,
           (float)eps);
    std::vector<double> sumd(sum.begin(), sum.end());
    emu_check(L("residual y"), back(yt), y, tol);
    emu_check(L("residual sum"), back(st), sumd, tol);
    emu_check(L("residual mean"), mean, mu, tol);
    emu_check(L("residual rstd"), rstd, rs, tol);
}

int main() {
    Case cases[] = {{50, 768, true}, {13, 77, true}, {9, 1030, false}, {6, 1024, true}, {1, 1, true}, {5, 40, false}};
    for (auto& c : cases) {
        run<float>(c, false);
        run<bf16_t>(c, true);
    }
    std::printf(emu_failures ? "%d FAILED\n" : "all passed\n", emu_failures);
    return emu_failures ? 1 : 0;
}
