package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The iteration space of an elementwise kernel: an output shape and, per operand (operand 0 is the
 * output), element strides, 0 where broadcast. Dims of size 1 are dropped and neighbours that every
 * operand walks contiguously are merged, so most views reach the kernel as rank 1 or 2; at most 8
 * dims and 4 operands remain. Packed as kernels/common.cuh's {@code Geom}: int rank; int numel;
 * int dims[8]; int st[4][8] (168 bytes).
 */
public final class Geometry {
    static final int MAX_RANK = 8;
    static final int MAX_OPERANDS = 4;
    static final int BYTES = 4 * (2 + MAX_RANK + MAX_OPERANDS * MAX_RANK);

    final int numel;
    final int[] dims;
    final int[][] strides;

    private Geometry(int numel, int[] dims, int[][] strides) {
        this.numel = numel;
        this.dims = dims;
        this.strides = strides;
    }

    /** The space of {@code shape} with one stride array per operand (each of the shape's rank). */
    public static Geometry of(int[] shape, int[]... operandStrides) {
        int ops = operandStrides.length;
        if (ops < 1 || ops > MAX_OPERANDS) throw new IllegalArgumentException("1 to " + MAX_OPERANDS + " operands, got " + ops);
        for (int[] s : operandStrides) {
            if (s.length != shape.length) throw new ShapeException("strides " + Shapes.str(s) + " do not match shape " + Shapes.str(shape));
        }
        int numel = Shapes.numel(shape);
        // drop size-1 dims
        int r = 0;
        int[] d = new int[shape.length];
        int[][] st = new int[ops][shape.length];
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == 1) continue;
            d[r] = shape[i];
            for (int k = 0; k < ops; k++) st[k][r] = operandStrides[k][i];
            r++;
        }
        // merge dim i into i+1 when every operand steps over i as one block of i+1
        int m = 0;
        int[] md = new int[Math.max(r, 1)];
        int[][] ms = new int[ops][Math.max(r, 1)];
        for (int i = 0; i < r; i++) {
            if (m > 0) {
                boolean merge = true;
                for (int k = 0; k < ops && merge; k++) merge = ms[k][m - 1] == st[k][i] * d[i];
                if (merge) {
                    md[m - 1] *= d[i];
                    for (int k = 0; k < ops; k++) ms[k][m - 1] = st[k][i];
                    continue;
                }
            }
            md[m] = d[i];
            for (int k = 0; k < ops; k++) ms[k][m] = st[k][i];
            m++;
        }
        if (m == 0) { // a single element (or an empty shape with a 0 dim kept below)
            md[0] = numel == 0 ? 0 : 1;
            m = 1;
        }
        if (numel == 0) {
            md = new int[]{0};
            ms = new int[ops][1];
            m = 1;
        }
        if (m > MAX_RANK) {
            throw new ShapeException("cuda: a view of shape " + Shapes.str(shape) + " needs " + m + " dims after merging; kernels take at most " + MAX_RANK);
        }
        int[][] outSt = new int[ops][];
        for (int k = 0; k < ops; k++) outSt[k] = Arrays.copyOf(ms[k], m);
        return new Geometry(numel, Arrays.copyOf(md, m), outSt);
    }

    public int numel() { return numel; }
    public int rank() { return dims.length; }
    public int[] dims() { return dims.clone(); }
    public int[] strides(int operand) { return strides[operand].clone(); }

    void writeTo(ByteBuffer b, int at) {
        b.putInt(at, dims.length);
        b.putInt(at + 4, numel);
        for (int i = 0; i < MAX_RANK; i++) b.putInt(at + 8 + 4 * i, i < dims.length ? dims[i] : 1);
        for (int k = 0; k < MAX_OPERANDS; k++) {
            for (int i = 0; i < MAX_RANK; i++) {
                int v = k < strides.length && i < dims.length ? strides[k][i] : 0;
                b.putInt(at + 8 + 4 * MAX_RANK + 4 * (k * MAX_RANK + i), v);
            }
        }
    }
}
