// Cross-entropy over dense logit rows [N, C] (one block per row; hard targets with an ignore index,
// or dense soft targets [N, C]) and elementwise binary cross-entropy with logits. F32 loads, double
// log-sum-exp, like the CPU reference.
#include "common.cuh"

__device__ double row_lse(const void* logits, int ldt, int base, int c) {
    float m = -__int_as_float(0x7f800000);
    for (int k = threadIdx.x; k < c; k += blockDim.x) m = fmaxf(m, load_f(logits, ldt, base + k));
    m = block_max(m);
    if (m == -__int_as_float(0x7f800000)) return (double) m;
    double s = 0.0;
    for (int k = threadIdx.x; k < c; k += blockDim.x) s += exp((double) load_f(logits, ldt, base + k) - (double) m);
    s = block_sum_d(s);
    return (double) m + log(s);
}

__device__ __forceinline__ long long target_class(const void* t, int tdt, int r, int tStride) {
    return tdt == DT_I64 ? ((const long long*) t)[r * tStride] : (long long) ((const int*) t)[r * tStride];
}

// soft != 0: target is a dense [N, C] floating tensor of dtype tdt; else class ids (I32/I64) with stride tStride.
extern "C" __global__ void cross_entropy_forward(void* out, int odt, const void* logits, int ldt, int n, int c,
                                                 const void* target, int tdt, int tStride, int soft, long long ignore) {
    for (int r = blockIdx.x; r < n; r += gridDim.x) {
        int base = r * c;
        if (!soft) {
            long long k = target_class(target, tdt, r, tStride);
            if (k == ignore || k < 0 || k >= c) { // out of range: recorded by index_check, never read
                if (threadIdx.x == 0) store_f(out, odt, r, 0.0f);
                continue; // uniform across the block: no barrier skipped by some threads only
            }
            double lse = row_lse(logits, ldt, base, c);
            if (threadIdx.x == 0) store_f(out, odt, r, (float) (lse - (double) load_f(logits, ldt, base + (int) k)));
        } else {
            double lse = row_lse(logits, ldt, base, c);
            double s = 0.0;
            for (int k = threadIdx.x; k < c; k += blockDim.x) {
                double t = (double) load_f(target, tdt, base + k);
                if (t != 0.0) s -= t * ((double) load_f(logits, ldt, base + k) - lse);
            }
            s = block_sum_d(s);
            if (threadIdx.x == 0) store_f(out, odt, r, (float) s);
        }
        __syncthreads();
    }
}

// gLoss [N] with stride gStride and dtype gdt; gx dense [N, C].
extern "C" __global__ void cross_entropy_backward(void* gx, int odt, const void* logits, int ldt, int n, int c,
                                                  const void* target, int tdt, int tStride, int soft, long long ignore,
                                                  const void* gLoss, int gdt, int gStride) {
    for (int r = blockIdx.x; r < n; r += gridDim.x) {
        int base = r * c;
        long long cls = soft ? -1 : target_class(target, tdt, r, tStride);
        if (!soft && (cls == ignore || cls < 0 || cls >= c)) {
            for (int k = threadIdx.x; k < c; k += blockDim.x) store_f(gx, odt, base + k, 0.0f);
            continue;
        }
        double lse = row_lse(logits, ldt, base, c);
        double g = (double) load_f(gLoss, gdt, r * gStride);
        double total = 1.0;
        if (soft) {
            double s = 0.0;
            for (int k = threadIdx.x; k < c; k += blockDim.x) s += (double) load_f(target, tdt, base + k);
            total = block_sum_d(s);
        }
        for (int k = threadIdx.x; k < c; k += blockDim.x) {
            double p = exp((double) load_f(logits, ldt, base + k) - lse);
            double v = soft ? p * total - (double) load_f(target, tdt, base + k) : p - (k == cls ? 1.0 : 0.0);
            store_f(gx, odt, base + k, (float) (v * g));
        }
        __syncthreads();
    }
}

// Geom operands: 0 = out, 1 = x, 2 = target, 3 = g (backward only).
extern "C" __global__ void bce_logits_forward(void* out, int odt, const void* x, int xdt, const void* t, int tdt, Geom geo) {
    FOR_N(i, geo.numel) {
        int off[3];
        geom_offsets(geo, 3, i, off);
        double v = load_f(x, xdt, off[1]), tv = load_f(t, tdt, off[2]);
        store_f(out, odt, off[0], (float) (fmax(v, 0.0) - v * tv + log1p(exp(-fabs(v)))));
    }
}

extern "C" __global__ void bce_logits_backward(void* out, int odt, const void* x, int xdt, const void* t, int tdt,
                                               const void* g, int gdt, Geom geo) {
    FOR_N(i, geo.numel) {
        int off[4];
        geom_offsets(geo, 4, i, off);
        double v = load_f(x, xdt, off[1]);
        double s = v >= 0.0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v));
        store_f(out, odt, off[0], (float) ((s - (double) load_f(t, tdt, off[2])) * (double) load_f(g, gdt, off[3])));
    }
}
