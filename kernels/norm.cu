// Batch norm over a dense [N, C, S] input: per-channel statistics (one block per channel, double sums),
// the affine normalisation, and the backward pass; PyTorch semantics like the CPU reference.
#include "common.cuh"

__device__ __forceinline__ float vec_at(const void* p, int dt, int stride, int c, float dflt) {
    return p == 0 ? dflt : load_f(p, dt, c * stride);
}

// Batch mean and biased variance of each channel -> mean[c], rstd[c] (F32); running stats moved in place.
extern "C" __global__ void bn_stats(float* mean, float* rstd, const void* x, int xdt, int n, int c, int s, double eps,
                                    void* rm, int rmdt, int rmStride, void* rv, int rvdt, int rvStride, double momentum) {
    int m = n * s;
    for (int ch = blockIdx.x; ch < c; ch += gridDim.x) {
        double acc = 0.0;
        for (int j = threadIdx.x; j < m; j += blockDim.x) acc += (double) load_f(x, xdt, ((j / s) * c + ch) * s + j % s);
        double mu = block_sum_d(acc) / (double) m;
        double q = 0.0;
        for (int j = threadIdx.x; j < m; j += blockDim.x) {
            double d = (double) load_f(x, xdt, ((j / s) * c + ch) * s + j % s) - mu;
            q += d * d;
        }
        double var = block_sum_d(q) / (double) m;
        if (var < 0.0) var = 0.0;
        if (threadIdx.x == 0) {
            mean[ch] = (float) mu;
            rstd[ch] = (float) (1.0 / sqrt(var + eps));
            if (rm != 0) store_f(rm, rmdt, ch * rmStride, (float) ((1.0 - momentum) * (double) load_f(rm, rmdt, ch * rmStride) + momentum * mu));
            if (rv != 0) store_f(rv, rvdt, ch * rvStride,
                                 (float) ((1.0 - momentum) * (double) load_f(rv, rvdt, ch * rvStride) + momentum * var * (double) m / (double) (m - 1)));
        }
        __syncthreads();
    }
}

// Eval statistics: mean = running_mean, rstd = 1 / sqrt(running_var + eps).
extern "C" __global__ void bn_eval_stats(float* mean, float* rstd, const void* rm, int rmdt, int rmStride, const void* rv, int rvdt,
                                         int rvStride, int c, double eps) {
    FOR_N(ch, c) {
        mean[ch] = load_f(rm, rmdt, ch * rmStride);
        rstd[ch] = (float) (1.0 / sqrt((double) load_f(rv, rvdt, ch * rvStride) + eps));
    }
}

// out = (x - mean) * rstd * w + b over dense [N, C, S].
extern "C" __global__ void bn_apply(void* out, int odt, const void* x, int xdt, int n, int c, int s, const float* mean, const float* rstd,
                                    const void* w, int wdt, int wStride, const void* b, int bdt, int bStride) {
    int total = n * c * s;
    FOR_N(i, total) {
        int ch = (i / s) % c;
        double scale = (double) rstd[ch] * (double) vec_at(w, wdt, wStride, ch, 1.0f);
        double shift = (double) vec_at(b, bdt, bStride, ch, 0.0f) - (double) mean[ch] * scale;
        store_f(out, odt, i, (float) ((double) load_f(x, xdt, i) * scale + shift));
    }
}

// Per channel: sg = sum(gy), sgx = sum(gy * (x - mean)) * rstd (F32 outputs).
extern "C" __global__ void bn_backward_reduce(float* sg, float* sgx, const void* gy, int gdt, const void* x, int xdt, int n, int c, int s,
                                              const void* mean, int mdt, int mStride, const void* rstd, int rdt, int rStride) {
    int m = n * s;
    for (int ch = blockIdx.x; ch < c; ch += gridDim.x) {
        double mu = load_f(mean, mdt, ch * mStride);
        double a = 0.0, d = 0.0;
        for (int j = threadIdx.x; j < m; j += blockDim.x) {
            int i = ((j / s) * c + ch) * s + j % s;
            double g = load_f(gy, gdt, i);
            a += g;
            d += g * ((double) load_f(x, xdt, i) - mu);
        }
        a = block_sum_d(a);
        d = block_sum_d(d);
        if (threadIdx.x == 0) {
            sg[ch] = (float) a;
            sgx[ch] = (float) (d * (double) load_f(rstd, rdt, ch * rStride));
        }
        __syncthreads();
    }
}

// gx = a gy + k (x - mean) + c0 with a = w rstd, k = -a rstd sgx / M, c0 = -a sg / M (k = c0 = 0 in eval).
extern "C" __global__ void bn_backward_apply(void* gx, int odt, const void* gy, int gdt, const void* x, int xdt, int n, int c, int s,
                                             const void* mean, int mdt, int mStride, const void* rstd, int rdt, int rStride,
                                             const void* w, int wdt, int wStride, const float* sg, const float* sgx, int training) {
    int total = n * c * s;
    double m = (double) n * (double) s;
    FOR_N(i, total) {
        int ch = (i / s) % c;
        double rs = load_f(rstd, rdt, ch * rStride);
        double a = (double) vec_at(w, wdt, wStride, ch, 1.0f) * rs;
        double k = training ? -a * rs * (double) sgx[ch] / m : 0.0;
        double c0 = training ? -a * (double) sg[ch] / m : 0.0;
        double v = a * (double) load_f(gy, gdt, i) + k * ((double) load_f(x, xdt, i) - (double) load_f(mean, mdt, ch * mStride)) + c0;
        store_f(gx, odt, i, (float) v);
    }
}
