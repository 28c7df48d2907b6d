// Reductions: one block (256 threads) per output element. `outer` walks the kept dims (operand 0: the
// input, operand 1: the output), `inner` the reduced dims of the input (operand 0). Sums and variance
// accumulate in double, like the CPU reference. Op codes: ReduceOp ordinals (SUM, MEAN, MAX, MIN).
#include "common.cuh"

extern "C" __global__ void reduce_dims(void* out, int odt, const void* x, int xdt, int op, Geom outer, Geom inner) {
    int n = inner.numel;
    for (int o = blockIdx.x; o < outer.numel; o += gridDim.x) {
        int off[2];
        geom_offsets(outer, 2, o, off);
        float result;
        if (op <= 1) {
            double s = 0.0;
            for (int j = threadIdx.x; j < n; j += blockDim.x) s += (double) load_f(x, xdt, off[0] + geom_offset(inner, 0, j));
            s = block_sum_d(s);
            result = (float) (op == 1 ? s / (double) n : s);
        } else if (op == 2) {
            float m = -__int_as_float(0x7f800000);
            for (int j = threadIdx.x; j < n; j += blockDim.x) m = nan_max(m, load_f(x, xdt, off[0] + geom_offset(inner, 0, j)));
            result = block_reduce_max_nan(m);
        } else {
            float m = __int_as_float(0x7f800000);
            for (int j = threadIdx.x; j < n; j += blockDim.x) m = nan_min(m, load_f(x, xdt, off[0] + geom_offset(inner, 0, j)));
            result = block_reduce_min_nan(m);
        }
        if (threadIdx.x == 0) store_f(out, odt, off[1], result);
        __syncthreads();
    }
}

// Column variant of reduce_dims for when consecutive outputs are consecutive in memory (e.g. a bias
// gradient: the sum over rows of [rows, C]): block (32, 8), threadIdx.x picks one of 32 neighbouring
// outputs (so a warp's loads are coalesced), threadIdx.y a slice of the reduced elements.
extern "C" __global__ void reduce_dims_cols(void* out, int odt, const void* x, int xdt, int op, Geom outer, Geom inner) {
    __shared__ double part[8][33];
    __shared__ float partm[8][33];
    int n = inner.numel;
    int tx = threadIdx.x, ty = threadIdx.y;
    for (int o0 = blockIdx.x * 32; o0 < outer.numel; o0 += gridDim.x * 32) {
        int o = o0 + tx;
        bool live = o < outer.numel;
        int off[2] = {0, 0};
        if (live) geom_offsets(outer, 2, o, off);
        double s = 0.0;
        float m = op == 2 ? -__int_as_float(0x7f800000) : __int_as_float(0x7f800000);
        if (live) {
            for (int j = ty; j < n; j += blockDim.y) {
                float v = load_f(x, xdt, off[0] + geom_offset(inner, 0, j));
                if (op <= 1) s += (double) v;
                else m = op == 2 ? nan_max(m, v) : nan_min(m, v);
            }
        }
        part[ty][tx] = s;
        partm[ty][tx] = m;
        __syncthreads();
        if (ty == 0 && live) {
            for (int k = 1; k < blockDim.y; ++k) {
                s += part[k][tx];
                m = op == 2 ? nan_max(m, partm[k][tx]) : nan_min(m, partm[k][tx]);
            }
            float r = op <= 1 ? (float) (op == 1 ? s / (double) n : s) : m;
            store_f(out, odt, off[1], r);
        }
        __syncthreads();
    }
}

// Variance with Bessel's correction: two passes (mean, then squared deviations), in double.
extern "C" __global__ void reduce_variance(void* out, int odt, const void* x, int xdt, int correction, Geom outer, Geom inner) {
    int n = inner.numel;
    for (int o = blockIdx.x; o < outer.numel; o += gridDim.x) {
        int off[2];
        geom_offsets(outer, 2, o, off);
        double s = 0.0;
        for (int j = threadIdx.x; j < n; j += blockDim.x) s += (double) load_f(x, xdt, off[0] + geom_offset(inner, 0, j));
        double mean = block_sum_d(s) / (double) n;
        double q = 0.0;
        for (int j = threadIdx.x; j < n; j += blockDim.x) {
            double d = (double) load_f(x, xdt, off[0] + geom_offset(inner, 0, j)) - mean;
            q += d * d;
        }
        q = block_sum_d(q);
        int denom = n - correction;
        if (threadIdx.x == 0) store_f(out, odt, off[1], (float) (q / (double) (denom > 0 ? denom : 0)));
        __syncthreads();
    }
}

// Index of the maximum along one dim of length len and stride st (first on ties; a NaN wins, the first one).
extern "C" __global__ void reduce_argmax(long long* out, const void* x, int xdt, int len, int st, Geom outer) {
    __shared__ float sv[256];
    __shared__ int si[256];
    for (int o = blockIdx.x; o < outer.numel; o += gridDim.x) {
        int off[2];
        geom_offsets(outer, 2, o, off);
        float best = -__int_as_float(0x7f800000);
        int bi = 0x7fffffff;
        for (int j = threadIdx.x; j < len; j += blockDim.x) {
            float v = load_f(x, xdt, off[0] + j * st);
            bool take = bi == 0x7fffffff || v > best || (v != v && best == best);
            if (take) { best = v; bi = j; }
        }
        sv[threadIdx.x] = best;
        si[threadIdx.x] = bi;
        __syncthreads();
        for (int s = blockDim.x / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s) {
                float a = sv[threadIdx.x], b = sv[threadIdx.x + s];
                int ia = si[threadIdx.x], ib = si[threadIdx.x + s];
                bool aNan = a != a, bNan = b != b;
                bool takeB;
                if (ib == 0x7fffffff) takeB = false;
                else if (ia == 0x7fffffff) takeB = true;
                else if (aNan || bNan) takeB = bNan && (!aNan || ib < ia);
                else takeB = b > a || (b == a && ib < ia);
                if (takeB) { sv[threadIdx.x] = b; si[threadIdx.x] = ib; }
            }
            __syncthreads();
        }
        if (threadIdx.x == 0) out[off[1]] = si[0] == 0x7fffffff ? 0 : si[0];
        __syncthreads();
    }
}
