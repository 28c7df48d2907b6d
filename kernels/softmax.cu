// Softmax and log-softmax along one dim: one block per row. `outer` walks the other dims with one
// stride array per operand; along the dim each operand has its own stride. F32 math, double sums.
#include "common.cuh"

// outer operands: 0 = x, 1 = out
extern "C" __global__ void softmax_forward(void* out, int odt, const void* x, int xdt, int len, int xs, int os, int logMode, Geom outer) {
    for (int r = blockIdx.x; r < outer.numel; r += gridDim.x) {
        int off[2];
        geom_offsets(outer, 2, r, off);
        float m = -__int_as_float(0x7f800000);
        for (int j = threadIdx.x; j < len; j += blockDim.x) m = fmaxf(m, load_f(x, xdt, off[0] + j * xs));
        m = block_max(m);
        double s = 0.0;
        for (int j = threadIdx.x; j < len; j += blockDim.x) s += (double) expf(load_f(x, xdt, off[0] + j * xs) - m);
        s = block_sum_d(s);
        float ls = (float) log(s);
        float inv = (float) (1.0 / s);
        for (int j = threadIdx.x; j < len; j += blockDim.x) {
            float v = load_f(x, xdt, off[0] + j * xs) - m;
            store_f(out, odt, off[1] + j * os, logMode ? v - ls : expf(v) * inv);
        }
        __syncthreads();
    }
}

// outer operands: 0 = y, 1 = gy, 2 = gx. softmax: gx = y (gy - sum(gy y)); log: gx = gy - exp(y) sum(gy).
extern "C" __global__ void softmax_backward(void* gx, int gxdt, const void* y, int ydt, const void* gy, int gydt, int len,
                                            int ys, int gys, int gxs, int logMode, Geom outer) {
    for (int r = blockIdx.x; r < outer.numel; r += gridDim.x) {
        int off[3];
        geom_offsets(outer, 3, r, off);
        double s = 0.0;
        for (int j = threadIdx.x; j < len; j += blockDim.x) {
            float g = load_f(gy, gydt, off[1] + j * gys);
            s += logMode ? (double) g : (double) g * (double) load_f(y, ydt, off[0] + j * ys);
        }
        float t = (float) block_sum_d(s);
        for (int j = threadIdx.x; j < len; j += blockDim.x) {
            float yv = load_f(y, ydt, off[0] + j * ys), g = load_f(gy, gydt, off[1] + j * gys);
            store_f(gx, gxdt, off[2] + j * gxs, logMode ? g - expf(yv) * t : yv * (g - t));
        }
        __syncthreads();
    }
}
