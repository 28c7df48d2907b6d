// Counter-based random numbers: each element's value is a hash (splitmix64) of (seed, element index),
// so results do not depend on the launch configuration. Same distributions as the CPU backend, not
// the same bits.
#include "common.cuh"

__device__ __forceinline__ unsigned long long mix64(unsigned long long z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// Uniform in [0, 1) with 53 random bits, for stream `lane` of counter i.
__device__ __forceinline__ double uniform01(unsigned long long seed, unsigned long long i, unsigned long long lane) {
    unsigned long long z = mix64(seed + 0x9e3779b97f4a7c15ull * (2ull * i + lane + 1ull));
    return (double) (z >> 11) * (1.0 / 9007199254740992.0);
}

// Geom operand 0: the destination (any strides); value depends on the logical index only.
extern "C" __global__ void random_uniform(void* dst, int ddt, double lo, double hi, unsigned long long seed, Geom g) {
    FOR_N(i, g.numel) {
        store_f(dst, ddt, geom_offset(g, 0, i), (float) (lo + (hi - lo) * uniform01(seed, (unsigned long long) i, 0)));
    }
}

// Box-Muller on pairs: elements 2p and 2p+1 share the uniforms of pair p (cos and sin branch).
extern "C" __global__ void random_normal(void* dst, int ddt, double mean, double std, unsigned long long seed, Geom g) {
    FOR_N(i, g.numel) {
        unsigned long long p = (unsigned long long) (i >> 1);
        double u1 = 1.0 - uniform01(seed, p, 0), u2 = uniform01(seed, p, 1);
        double rad = sqrt(-2.0 * log(u1));
        double a = 6.283185307179586 * u2;
        double v = (i & 1) ? rad * sin(a) : rad * cos(a);
        store_f(dst, ddt, geom_offset(g, 0, i), (float) (mean + std * v));
    }
}

// Keep-mask: 0 with probability p, else 1/(1-p); dense output of n elements.
extern "C" __global__ void random_dropout_mask(void* dst, int ddt, int n, double p, double keep, unsigned long long seed) {
    FOR_N(i, n) {
        store_f(dst, ddt, i, uniform01(seed, (unsigned long long) i, 0) < p ? 0.0f : (float) keep);
    }
}

// The same mask with its seed read from device memory (*seed), for a step captured in a CUDA graph:
// the graph's refresh writes each replay's seed there, so replays draw new masks.
extern "C" __global__ void random_dropout_mask_dev(void* dst, int ddt, int n, double p, double keep, const unsigned long long* seed) {
    unsigned long long s = *seed;
    FOR_N(i, n) {
        store_f(dst, ddt, i, uniform01(s, (unsigned long long) i, 0) < p ? 0.0f : (float) keep);
    }
}

// k distinct indices of [0, total) in ascending order (I32): the cells whose keys
// mix64(seed + golden * (i + 1)) are the k smallest, ties broken by index, so a uniformly random subset,
// the one the CPU backend draws for the same seed. When seedPtr is not null the seed is read there (a CUDA
// graph's slot, rewritten before each replay). One block: every key sits in shared memory (total <= 4096).
#define SUBSET_MAX 4096
extern "C" __global__ void random_subset(int* dst, int total, int k, unsigned long long seed, const unsigned long long* seedPtr) {
    __shared__ unsigned long long keys[SUBSET_MAX];
    __shared__ unsigned char keep[SUBSET_MAX];
    unsigned long long s = seedPtr != nullptr ? *seedPtr : seed;
    for (int i = threadIdx.x; i < total; i += blockDim.x) keys[i] = mix64(s + 0x9e3779b97f4a7c15ull * (unsigned long long) (i + 1));
    __syncthreads();
    for (int i = threadIdx.x; i < total; i += blockDim.x) {
        unsigned long long ki = keys[i];
        int rank = 0;
        for (int j = 0; j < total; j++) {
            unsigned long long kj = keys[j];
            rank += (kj < ki || (kj == ki && j < i)) ? 1 : 0;
        }
        keep[i] = rank < k ? 1 : 0;
    }
    __syncthreads();
    for (int i = threadIdx.x; i < total; i += blockDim.x) {
        if (!keep[i]) continue;
        int pos = 0;
        for (int j = 0; j < i; j++) pos += keep[j];
        dst[pos] = i;
    }
}
