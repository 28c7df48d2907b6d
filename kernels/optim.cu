// Optimizer updates in place, PyTorch single-tensor semantics, mirroring the CPU reference's
// arithmetic exactly (double math, state rounded to its dtype when stored). Three forms share one
// element update each (adamw_element, sgd_element), so they agree bit for bit:
//   *_step       strided operands (Geom), per-step scalars as arguments;
//   *_step_dev   the same with the scalars read from device memory (a step captured in a CUDA graph);
//   *_multi      up to TL_MAX contiguous tensors in one launch (the list passed by value).
#include "common.cuh"

// One element of an AdamW update: p, m (exp_avg), v (exp_avg_sq), g at element offsets ip, im, iv, ig;
// stepSize = lr / (1 - b1^t), bc2Sqrt = sqrt(1 - b2^t), decay = 1 - lr * weight_decay.
__device__ __forceinline__ void adamw_element(void* p, void* m, void* v, const void* g, int dt, int ip, int im, int iv, int ig,
                                              double b1, double b2, double eps, double decay, double stepSize, double bc2Sqrt) {
    double gi = load_f(g, dt, ig);
    store_f(m, dt, im, (float) (b1 * (double) load_f(m, dt, im) + (1.0 - b1) * gi));
    store_f(v, dt, iv, (float) (b2 * (double) load_f(v, dt, iv) + (1.0 - b2) * gi * gi));
    double mi = load_f(m, dt, im), vi = load_f(v, dt, iv);
    double denom = sqrt(vi) / bc2Sqrt + eps;
    store_f(p, dt, ip, (float) ((double) load_f(p, dt, ip) * decay - stepSize * mi / denom));
}

// One element of an SGD update: p, the momentum buffer (null when there is none), g at offsets ip, ib, ig.
__device__ __forceinline__ void sgd_element(void* p, void* buf, const void* g, int dt, int ip, int ib, int ig, double lr,
                                            double momentum, double dampening, double wd, int nesterov, int first) {
    double pv = load_f(p, dt, ip);
    float d = (float) ((double) load_f(g, dt, ig) + wd * pv);
    double upd = d;
    if (buf != nullptr) {
        float b = first ? d : (float) (momentum * (double) load_f(buf, dt, ib) + (1.0 - dampening) * (double) d);
        store_f(buf, dt, ib, b);
        b = load_f(buf, dt, ib);
        upd = nesterov ? (double) (float) ((double) d + momentum * (double) b) : (double) b;
    }
    store_f(p, dt, ip, (float) (pv - lr * upd));
}

// Geom operands: 0 = param, 1 = exp_avg, 2 = exp_avg_sq, 3 = grad (all of dtype dt).
extern "C" __global__ void adamw_step(void* p, void* m, void* v, const void* g, int dt, double b1, double b2, double eps,
                                      double decay, double stepSize, double bc2Sqrt, Geom geo) {
    FOR_N(i, geo.numel) {
        int off[4];
        geom_offsets(geo, 4, i, off);
        adamw_element(p, m, v, g, dt, off[0], off[1], off[2], off[3], b1, b2, eps, decay, stepSize, bc2Sqrt);
    }
}

// Geom operands: 0 = param, 1 = momentum buffer (ignored when hasBuf == 0), 2 = grad.
extern "C" __global__ void sgd_step(void* p, void* buf, const void* g, int dt, double lr, double momentum, double dampening,
                                    double wd, int nesterov, int first, int hasBuf, Geom geo) {
    FOR_N(i, geo.numel) {
        int off[3];
        geom_offsets(geo, 3, i, off);
        sgd_element(p, hasBuf ? buf : nullptr, g, dt, off[0], off[1], off[2], lr, momentum, dampening, wd, nesterov, first);
    }
}

// The same updates with the per-step scalars read from device memory, for a step captured in a CUDA
// graph (a replay must use the current learning rate and step count, not the ones of the capture).
// sc[0] = lr, sc[1] = the parameter's step count t (>= 1), as doubles.
extern "C" __global__ void adamw_step_dev(void* p, void* m, void* v, const void* g, int dt, double b1, double b2, double eps,
                                          double wd, const double* sc, Geom geo) {
    double lr = sc[0], t = sc[1];
    double decay = 1.0 - lr * wd;
    double stepSize = lr / (1.0 - pow(b1, t));
    double bc2Sqrt = sqrt(1.0 - pow(b2, t));
    FOR_N(i, geo.numel) {
        int off[4];
        geom_offsets(geo, 4, i, off);
        adamw_element(p, m, v, g, dt, off[0], off[1], off[2], off[3], b1, b2, eps, decay, stepSize, bc2Sqrt);
    }
}

// sc[0] = lr, sc[1] = 1 on the parameter's first step (the momentum buffer starts as the gradient), else 0.
extern "C" __global__ void sgd_step_dev(void* p, void* buf, const void* g, int dt, const double* sc, double momentum, double dampening,
                                        double wd, int nesterov, int hasBuf, Geom geo) {
    double lr = sc[0];
    int first = sc[1] != 0.0;
    FOR_N(i, geo.numel) {
        int off[3];
        geom_offsets(geo, 3, i, off);
        sgd_element(p, hasBuf ? buf : nullptr, g, dt, off[0], off[1], off[2], lr, momentum, dampening, wd, nesterov, first);
    }
}

// ---- multi-tensor updates: one launch for up to TL_MAX contiguous parameters ------------------------
// The list travels by value in the kernel's parameters (no upload, no sync); __grid_constant__ lets a
// block index it without a per-thread copy. Block b works on tensor t with blockStart[t] <= b <
// blockStart[t + 1], elements [(b - blockStart[t]) * chunk, + chunk).
// Layout (must match backend/cuda/TensorList.java): 8-byte aligned, 2704 bytes at TL_MAX = 48.
#define TL_MAX 48
struct TensorList {
    long long p[TL_MAX], a[TL_MAX], b[TL_MAX], g[TL_MAX];  // param, state 1, state 2 (0 = none), grad
    double s0[TL_MAX], s1[TL_MAX];                          // per-tensor scalars (see each kernel)
    int numel[TL_MAX];
    int blockStart[TL_MAX + 1];
    int count;
    int chunk;
};
// The Java side packs this struct byte for byte (backend/cuda/TensorList.BYTES; KernelArgsTest reads this line).
static_assert(sizeof(TensorList) == 2704, "TensorList must be 2704 bytes at TL_MAX 48, as TensorList.BYTES");

__device__ __forceinline__ int tl_tensor(const TensorList& tl, int blk) {
    int t = 0;
    while (t + 1 < tl.count && blk >= tl.blockStart[t + 1]) t++;
    return t;
}

// a = exp_avg, b = exp_avg_sq; s0 = lr / (1 - b1^t), s1 = sqrt(1 - b2^t) of each parameter's own step t;
// decay = 1 - lr * weight_decay (one group: one lr and weight decay).
extern "C" __global__ void adamw_multi(const __grid_constant__ TensorList tl, int dt, double b1, double b2, double eps, double decay) {
    const int t = tl_tensor(tl, blockIdx.x);
    const int start = (blockIdx.x - tl.blockStart[t]) * tl.chunk;
    const int end = start + tl.chunk < tl.numel[t] ? start + tl.chunk : tl.numel[t];
    void* p = (void*) tl.p[t];
    void* m = (void*) tl.a[t];
    void* v = (void*) tl.b[t];
    const void* g = (const void*) tl.g[t];
    for (int i = start + threadIdx.x; i < end; i += blockDim.x) {
        adamw_element(p, m, v, g, dt, i, i, i, i, b1, b2, eps, decay, tl.s0[t], tl.s1[t]);
    }
}

// a = momentum buffer (0 when momentum is 0); s0 = 1 on the parameter's first step, else 0.
extern "C" __global__ void sgd_multi(const __grid_constant__ TensorList tl, int dt, double lr, double momentum, double dampening,
                                     double wd, int nesterov) {
    const int t = tl_tensor(tl, blockIdx.x);
    const int start = (blockIdx.x - tl.blockStart[t]) * tl.chunk;
    const int end = start + tl.chunk < tl.numel[t] ? start + tl.chunk : tl.numel[t];
    void* p = (void*) tl.p[t];
    void* buf = (void*) tl.a[t];
    const void* g = (const void*) tl.g[t];
    const int first = tl.s0[t] != 0.0;
    for (int i = start + threadIdx.x; i < end; i += blockDim.x) {
        sgd_element(p, buf, g, dt, i, i, i, lr, momentum, dampening, wd, nesterov, first);
    }
}
