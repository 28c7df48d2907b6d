// Copies with broadcasting and dtype conversion (operand 0 is the destination, 1 the source), and
// fills. Floating conversions round to nearest even (BF16/F16); integer to integer copies are exact.
#include "common.cuh"

extern "C" __global__ void cast_copy(void* dst, int ddt, const void* src, int sdt, Geom g) {
    FOR_N(i, g.numel) {
        int off[2];
        geom_offsets(g, 2, i, off);
        if (is_int_dt(ddt) && is_int_dt(sdt)) store_i(dst, ddt, off[0], load_i(src, sdt, off[1]));
        else if (is_int_dt(ddt)) store_i(dst, ddt, off[0], (long long) load_f(src, sdt, off[1]));
        else store_f(dst, ddt, off[0], load_f(src, sdt, off[1]));
    }
}

// Same-dtype copy of raw elements of `bytes` (1, 2, 4 or 8) bytes each: exact for every dtype.
extern "C" __global__ void cast_copy_raw(void* dst, const void* src, int bytes, Geom g) {
    FOR_N(i, g.numel) {
        int off[2];
        geom_offsets(g, 2, i, off);
        switch (bytes) {
            case 1: ((unsigned char*) dst)[off[0]] = ((const unsigned char*) src)[off[1]]; break;
            case 2: ((unsigned short*) dst)[off[0]] = ((const unsigned short*) src)[off[1]]; break;
            case 4: ((unsigned int*) dst)[off[0]] = ((const unsigned int*) src)[off[1]]; break;
            default: ((unsigned long long*) dst)[off[0]] = ((const unsigned long long*) src)[off[1]]; break;
        }
    }
}

extern "C" __global__ void cast_fill(void* dst, int ddt, double value, Geom g) {
    FOR_N(i, g.numel) {
        int o = geom_offset(g, 0, i);
        if (is_int_dt(ddt)) store_i(dst, ddt, o, (long long) value);
        else store_f(dst, ddt, o, (float) value);
    }
}
