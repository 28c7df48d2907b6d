// Elementwise maps over broadcast, strided operands (Geom: operand 0 is the output). F32/BF16/F16
// data, F32 math. Op codes are the ordinals of the Java enums UnaryOp, BinaryOp and CompareOp.
// No fast math: the CPU parity tests ask for 1e-5 relative error in F32.
#include "common.cuh"

__device__ __forceinline__ float sigmoidf_(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

__device__ float unary_value(int op, float x) {
    switch (op) {
        case 0: return -x;
        case 1: return expf(x);
        case 2: return logf(x);
        case 3: return sqrtf(x);
        case 4: return 1.0f / sqrtf(x);
        case 5: return tanhf(x);
        case 6: return sigmoidf_(x);
        case 7: return x > 0.0f ? x : 0.0f;
        case 8: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
        case 9: return x * sigmoidf_(1.702f * x);
        default: return fabsf(x);
    }
}

// d op(x)/dx from x and y = op(x).
__device__ float unary_derivative(int op, float x, float y) {
    switch (op) {
        case 0: return -1.0f;
        case 1: return y;
        case 2: return 1.0f / x;
        case 3: return 0.5f / y;
        case 4: return -0.5f * y * y * y;
        case 5: return 1.0f - y * y;
        case 6: return y * (1.0f - y);
        case 7: return x > 0.0f ? 1.0f : 0.0f;
        case 8: return 0.5f * (1.0f + erff(x * 0.70710678118654752f)) + x * 0.3989422804014327f * expf(-0.5f * x * x);
        case 9: {
            float s = sigmoidf_(1.702f * x);
            return s + 1.702f * x * s * (1.0f - s);
        }
        default: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
    }
}

__device__ float binary_value(int op, float a, float b) {
    switch (op) {
        case 0: return a + b;
        case 1: return a - b;
        case 2: return a * b;
        case 3: return a / b;
        case 4: return powf(a, b);
        case 5: return (a != a || b != b) ? a + b : fmaxf(a, b);
        case 6: return (a != a || b != b) ? a + b : fminf(a, b);
        case 7: return b - a;
        default: return b / a;
    }
}

__device__ bool compare_value(int op, float a, float b) {
    switch (op) {
        case 0: return a == b;
        case 1: return a != b;
        case 2: return a < b;
        case 3: return a <= b;
        case 4: return a > b;
        default: return a >= b;
    }
}

extern "C" __global__ void ew_unary(void* out, int odt, const void* x, int xdt, int op, Geom g) {
    FOR_N(i, g.numel) {
        int off[2];
        geom_offsets(g, 2, i, off);
        store_f(out, odt, off[0], unary_value(op, load_f(x, xdt, off[1])));
    }
}

extern "C" __global__ void ew_unary_backward(void* out, int odt, const void* x, const void* y, const void* gy, int dt,
                                             int op, Geom g) {
    FOR_N(i, g.numel) {
        int off[4];
        geom_offsets(g, 4, i, off);
        float d = unary_derivative(op, load_f(x, dt, off[1]), load_f(y, dt, off[2]));
        store_f(out, odt, off[0], load_f(gy, dt, off[3]) * d);
    }
}

extern "C" __global__ void ew_binary(void* out, int odt, const void* a, int adt, const void* b, int bdt, int op, Geom g) {
    FOR_N(i, g.numel) {
        int off[3];
        geom_offsets(g, 3, i, off);
        store_f(out, odt, off[0], binary_value(op, load_f(a, adt, off[1]), load_f(b, bdt, off[2])));
    }
}

extern "C" __global__ void ew_binary_scalar(void* out, int odt, const void* a, int adt, float s, int op, Geom g) {
    FOR_N(i, g.numel) {
        int off[2];
        geom_offsets(g, 2, i, off);
        store_f(out, odt, off[0], binary_value(op, load_f(a, adt, off[1]), s));
    }
}

// dst = dst * alpha + src * beta (dst is operand 0 and is read through its own strides).
extern "C" __global__ void ew_axpby(void* dst, int ddt, const void* src, int sdt, float alpha, float beta, Geom g) {
    FOR_N(i, g.numel) {
        int off[2];
        geom_offsets(g, 2, i, off);
        float d = load_f(dst, ddt, off[0]);
        store_f(dst, ddt, off[0], d * alpha + load_f(src, sdt, off[1]) * beta);
    }
}

extern "C" __global__ void ew_compare(unsigned char* out, const void* a, int adt, const void* b, int bdt, int op, Geom g) {
    FOR_N(i, g.numel) {
        int off[3];
        geom_offsets(g, 3, i, off);
        out[off[0]] = compare_value(op, load_f(a, adt, off[1]), load_f(b, bdt, off[2])) ? 1 : 0;
    }
}

extern "C" __global__ void ew_where(void* out, int odt, const unsigned char* cond, const void* a, int adt,
                                    const void* b, int bdt, Geom g) {
    FOR_N(i, g.numel) {
        int off[4];
        geom_offsets(g, 4, i, off);
        float v = cond[off[1]] ? load_f(a, adt, off[2]) : load_f(b, bdt, off[3]);
        store_f(out, odt, off[0], v);
    }
}
