package dev.clipvil.backend.cpu;

/**
 * One operand of an F32 GEMM as the blocked driver sees it: a matrix indexed by an "outer" index
 * (a row of A, or a column of B) and the reduction index. The driver never reads the operand
 * directly; it asks for blocks packed into micro-panels, so that a source may be a strided view
 * (transposed or not, read in place) or something computed on the fly, like the im2col matrix of a
 * convolution.
 *
 * <p>Packed layout of {@code pack(o0, count, p0, kc, w, ps, dst, d)}: the outer range is cut into panels
 * of {@code w}; panel {@code q} starts at {@code dst[d + q*ps]} ({@code ps >= w*kc}) and holds element
 * (outer {@code o0 + q*w + i}, reduction {@code p0 + p}) at {@code p*w + i}. Outer indices past
 * {@code count} in the last panel are written as zeros.
 */
interface PanelSource {
    void pack(int o0, int count, int p0, int kc, int w, int ps, float[] dst, int d);
}
