// Optimizer updates in place, PyTorch single-tensor semantics, mirroring the CPU reference's
// arithmetic exactly (double math, state rounded to its dtype when stored). Operands may be strided.
#include "common.cuh"

// Geom operands: 0 = param, 1 = exp_avg, 2 = exp_avg_sq, 3 = grad (all of dtype dt).
extern "C" __global__ void adamw_step(void* p, void* m, void* v, const void* g, int dt, double b1, double b2, double eps,
                                      double decay, double stepSize, double bc2Sqrt, Geom geo) {
    FOR_N(i, geo.numel) {
        int off[4];
        geom_offsets(geo, 4, i, off);
        double gi = load_f(g, dt, off[3]);
        store_f(m, dt, off[1], (float) (b1 * (double) load_f(m, dt, off[1]) + (1.0 - b1) * gi));
        store_f(v, dt, off[2], (float) (b2 * (double) load_f(v, dt, off[2]) + (1.0 - b2) * gi * gi));
        double mi = load_f(m, dt, off[1]), vi = load_f(v, dt, off[2]);
        double denom = sqrt(vi) / bc2Sqrt + eps;
        store_f(p, dt, off[0], (float) ((double) load_f(p, dt, off[0]) * decay - stepSize * mi / denom));
    }
}

// Geom operands: 0 = param, 1 = momentum buffer (ignored when hasBuf == 0), 2 = grad.
extern "C" __global__ void sgd_step(void* p, void* buf, const void* g, int dt, double lr, double momentum, double dampening,
                                    double wd, int nesterov, int first, int hasBuf, Geom geo) {
    FOR_N(i, geo.numel) {
        int off[3];
        geom_offsets(geo, 3, i, off);
        double pv = load_f(p, dt, off[0]);
        float d = (float) ((double) load_f(g, dt, off[2]) + wd * pv);
        double upd = d;
        if (hasBuf) {
            float b = first ? d : (float) (momentum * (double) load_f(buf, dt, off[1]) + (1.0 - dampening) * (double) d);
            store_f(buf, dt, off[1], b);
            b = load_f(buf, dt, off[1]);
            upd = nesterov ? (double) (float) ((double) d + momentum * (double) b) : (double) b;
        }
        store_f(p, dt, off[0], (float) (pv - lr * upd));
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
        double gi = load_f(g, dt, off[3]);
        store_f(m, dt, off[1], (float) (b1 * (double) load_f(m, dt, off[1]) + (1.0 - b1) * gi));
        store_f(v, dt, off[2], (float) (b2 * (double) load_f(v, dt, off[2]) + (1.0 - b2) * gi * gi));
        double mi = load_f(m, dt, off[1]), vi = load_f(v, dt, off[2]);
        double denom = sqrt(vi) / bc2Sqrt + eps;
        store_f(p, dt, off[0], (float) ((double) load_f(p, dt, off[0]) * decay - stepSize * mi / denom));
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
        double pv = load_f(p, dt, off[0]);
        float d = (float) ((double) load_f(g, dt, off[2]) + wd * pv);
        double upd = d;
        if (hasBuf) {
            float b = first ? d : (float) (momentum * (double) load_f(buf, dt, off[1]) + (1.0 - dampening) * (double) d);
            store_f(buf, dt, off[1], b);
            b = load_f(buf, dt, off[1]);
            upd = nesterov ? (double) (float) ((double) d + momentum * (double) b) : (double) b;
        }
        store_f(p, dt, off[0], (float) (pv - lr * upd));
    }
}
