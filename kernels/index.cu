// Gather (index_select, embedding lookup), scatter-add (index_add) and index validation.
// The Geom of gather/scatter has a "coordinate" operand: stride 1 along the indexed dim and 0
// elsewhere, so its offset is the position along that dim.
#include "common.cuh"

__device__ __forceinline__ long long load_index(const void* idx, int idt, int j) {
    return idt == DT_I64 ? ((const long long*) idx)[j] : (long long) ((const int*) idx)[j];
}

// Smallest position j with idx[j] outside [0, size) (and not equal to `ignore` when skipIgnore), into *bad
// (which the caller presets to n).
extern "C" __global__ void index_check(const void* idx, int idt, int idxStride, int n, long long size, long long ignore,
                                       int skipIgnore, int* bad) {
    FOR_N(j, n) {
        long long k = load_index(idx, idt, j * idxStride);
        if (skipIgnore && k == ignore) continue;
        if (k < 0 || k >= size) atomicMin(bad, j);
    }
}

// Over the output shape: operand 0 = x strides (0 along dim), 1 = coordinate, 2 = output strides.
extern "C" __global__ void index_select(void* out, const void* x, int bytes, const void* idx, int idt, int idxStride,
                                        int xDimStride, Geom g) {
    FOR_N(i, g.numel) {
        int off[3];
        geom_offsets(g, 3, i, off);
        int src = off[0] + (int) load_index(idx, idt, off[1] * idxStride) * xDimStride;
        switch (bytes) {
            case 1: ((unsigned char*) out)[off[2]] = ((const unsigned char*) x)[src]; break;
            case 2: ((unsigned short*) out)[off[2]] = ((const unsigned short*) x)[src]; break;
            case 4: ((unsigned int*) out)[off[2]] = ((const unsigned int*) x)[src]; break;
            default: ((unsigned long long*) out)[off[2]] = ((const unsigned long long*) x)[src]; break;
        }
    }
}

// Over the source shape: operand 0 = src strides, 1 = coordinate, 2 = output strides (0 along dim).
// acc is F32 and zeroed by the caller; repeated indices add up through atomics.
extern "C" __global__ void index_add(float* acc, const void* src, int sdt, const void* idx, int idt, int idxStride,
                                     int accDimStride, Geom g) {
    FOR_N(i, g.numel) {
        int off[3];
        geom_offsets(g, 3, i, off);
        int dst = off[2] + (int) load_index(idx, idt, off[1] * idxStride) * accDimStride;
        atomicAdd(acc + dst, load_f(src, sdt, off[0]));
    }
}
