// Gather (index_select, embedding lookup), scatter-add (index_add) and index validation.
// The Geom of gather/scatter has a "coordinate" operand: stride 1 along the indexed dim and 0
// elsewhere, so its offset is the position along that dim.
#include "common.cuh"

__device__ __forceinline__ long long load_index(const void* idx, int idt, int j) {
    return idt == DT_I64 ? ((const long long*) idx)[j] : (long long) ((const int*) idx)[j];
}

// Records the lowest position whose index lies outside [0, size) (other than `ignore` when skipIgnore),
// as the CPU backend reports it, in the device's fault record (IndexFaults): fault[0] = (check << 32) |
// position, fault[1] = the index, unless an earlier check already filled it. One block of
// INDEX_CHECK_THREADS (the Java side launches exactly that): each thread finds its lowest bad position,
// thread 0 takes the lowest of those and is the only writer. Nothing is read back here: the host looks at
// the record at its next synchronisation.
#define INDEX_CHECK_THREADS 256
extern "C" __global__ void index_check(const void* idx, int idt, int idxStride, int n, long long size, long long ignore,
                                       int skipIgnore, int check, unsigned long long* fault) {
    __shared__ int firstBad[INDEX_CHECK_THREADS];
    __shared__ long long badValue[INDEX_CHECK_THREADS];
    int mine = n;
    long long value = 0;
    for (int j = threadIdx.x; j < n; j += blockDim.x) {  // ascending: this thread's first bad one is its lowest
        long long k = load_index(idx, idt, j * idxStride);
        if (skipIgnore && k == ignore) continue;
        if (k < 0 || k >= size) {
            mine = j;
            value = k;
            break;
        }
    }
    firstBad[threadIdx.x] = mine;
    badValue[threadIdx.x] = value;
    __syncthreads();
    if (threadIdx.x == 0) {
        int best = n;
        long long v = 0;
        for (int t = 0; t < (int) blockDim.x; t++) {
            if (firstBad[t] < best) {
                best = firstBad[t];
                v = badValue[t];
            }
        }
        if (best < n) {
            unsigned long long word = ((unsigned long long) (unsigned) check << 32) | (unsigned long long) (unsigned) best;
            if (atomicCAS(fault, 0ull, word) == 0ull) fault[1] = (unsigned long long) v;
        }
    }
}

// Over the output shape: operand 0 = x strides (0 along dim), 1 = coordinate, 2 = output strides.
// An index outside [0, size) (index_check has recorded it) gives zeros instead of a read outside x.
extern "C" __global__ void index_select(void* out, const void* x, int bytes, const void* idx, int idt, int idxStride,
                                        int xDimStride, long long size, Geom g) {
    FOR_N(i, g.numel) {
        int off[3];
        geom_offsets(g, 3, i, off);
        long long k = load_index(idx, idt, off[1] * idxStride);
        if (k < 0 || k >= size) {
            for (int b = 0; b < bytes; b++) ((unsigned char*) out)[(long long) off[2] * bytes + b] = 0;
            continue;
        }
        int src = off[0] + (int) k * xDimStride;
        switch (bytes) {
            case 1: ((unsigned char*) out)[off[2]] = ((const unsigned char*) x)[src]; break;
            case 2: ((unsigned short*) out)[off[2]] = ((const unsigned short*) x)[src]; break;
            case 4: ((unsigned int*) out)[off[2]] = ((const unsigned int*) x)[src]; break;
            default: ((unsigned long long*) out)[off[2]] = ((const unsigned long long*) x)[src]; break;
        }
    }
}

// Over the source shape: operand 0 = src strides, 1 = coordinate, 2 = output strides (0 along dim).
// acc is F32 and zeroed by the caller; repeated indices add up through atomics. An index outside
// [0, size) (recorded by index_check) adds nothing.
extern "C" __global__ void index_add(float* acc, const void* src, int sdt, const void* idx, int idt, int idxStride,
                                     int accDimStride, long long size, Geom g) {
    FOR_N(i, g.numel) {
        int off[3];
        geom_offsets(g, 3, i, off);
        long long k = load_index(idx, idt, off[1] * idxStride);
        if (k < 0 || k >= size) continue;
        int dst = off[2] + (int) k * accDimStride;
        atomicAdd(acc + dst, load_f(src, sdt, off[0]));
    }
}
