// Average pooling (fixed or adaptive windows) over dense [planes, H, W] planes, PyTorch semantics.
// Forward gathers each output window; backward scatters each output gradient over its window into an
// F32 accumulator with atomics (windows overlap when stride < kernel).
#include "common.cuh"

struct PoolWin { int lo, hi, padded; };

__device__ __forceinline__ PoolWin pool_window(int o, int k, int s, int p, int in, int outN, int adaptive) {
    PoolWin w;
    if (adaptive) {
        w.lo = (int) (((long long) o * in) / outN);
        w.hi = (int) ((((long long) (o + 1)) * in + outN - 1) / outN);
        w.padded = w.hi - w.lo;
    } else {
        int start = o * s - p;
        int end = start + k < in + p ? start + k : in + p;
        w.padded = end - start;
        w.lo = start > 0 ? start : 0;
        w.hi = end < in ? end : in;
    }
    return w;
}

__device__ __forceinline__ int pool_divisor(PoolWin r, PoolWin q, int countIncludePad) {
    return countIncludePad ? r.padded * q.padded : (r.hi - r.lo) * (q.hi - q.lo);
}

// params: kH, kW, sH, sW, pH, pW, countIncludePad, adaptive
extern "C" __global__ void avg_pool_forward(void* out, int odt, const void* x, int xdt, int planes, int h, int w, int oh, int ow,
                                            int kH, int kW, int sH, int sW, int pH, int pW, int countIncludePad, int adaptive) {
    int total = planes * oh * ow;
    FOR_N(i, total) {
        int j = i % ow, t = i / ow, r = t % oh, pl = t / oh;
        PoolWin wr = pool_window(r, kH, sH, pH, h, oh, adaptive), wc = pool_window(j, kW, sW, pW, w, ow, adaptive);
        double sum = 0.0;
        int base = pl * h * w;
        for (int y = wr.lo; y < wr.hi; ++y)
            for (int z = wc.lo; z < wc.hi; ++z) sum += (double) load_f(x, xdt, base + y * w + z);
        int div = adaptive ? wr.padded * wc.padded : pool_divisor(wr, wc, countIncludePad);
        store_f(out, odt, i, (float) (sum / (double) div));
    }
}

extern "C" __global__ void avg_pool_backward(float* acc, const void* gy, int gdt, int planes, int h, int w, int oh, int ow,
                                             int kH, int kW, int sH, int sW, int pH, int pW, int countIncludePad, int adaptive) {
    int total = planes * oh * ow;
    FOR_N(i, total) {
        int j = i % ow, t = i / ow, r = t % oh, pl = t / oh;
        PoolWin wr = pool_window(r, kH, sH, pH, h, oh, adaptive), wc = pool_window(j, kW, sW, pW, w, ow, adaptive);
        int div = adaptive ? wr.padded * wc.padded : pool_divisor(wr, wc, countIncludePad);
        float v = (float) ((double) load_f(gy, gdt, i) / (double) div);
        int base = pl * h * w;
        for (int y = wr.lo; y < wr.hi; ++y)
            for (int z = wc.lo; z < wc.hi; ++z) atomicAdd(acc + base + y * w + z, v);
    }
}
