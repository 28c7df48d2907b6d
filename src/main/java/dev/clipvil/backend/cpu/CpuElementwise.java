package dev.clipvil.backend.cpu;

import dev.clipvil.backend.BinaryOp;
import dev.clipvil.backend.CompareOp;
import dev.clipvil.backend.UnaryOp;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.HostStorage;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/**
 * Elementwise maps with broadcasting, on F32 and F64. Contiguous F32 operands of one shape take a
 * flat loop; everything else walks rows of the broadcast output with per-operand strides.
 */
final class CpuElementwise {
    private CpuElementwise() {}

    private static final double SQRT1_2 = 0.7071067811865476;
    private static final double INV_SQRT_2PI = 0.3989422804014327;

    // ---- scalar maps ----------------------------------------------------------------------

    static double unaryValue(UnaryOp op, double x) {
        switch (op) {
            case NEG: return -x;
            case EXP: return Math.exp(x);
            case LOG: return Math.log(x);
            case SQRT: return Math.sqrt(x);
            case RSQRT: return 1.0 / Math.sqrt(x);
            case TANH: return Math.tanh(x);
            case SIGMOID: return sigmoid(x);
            case RELU: return x > 0 ? x : 0;
            case GELU: return 0.5 * x * (1 + Erf.erf(x * SQRT1_2));
            case QUICK_GELU: return x * sigmoid(1.702 * x);
            case ABS: return Math.abs(x);
            default: throw new AssertionError(op);
        }
    }

    /** d op(x) / dx, given x and y = op(x). */
    static double unaryDerivative(UnaryOp op, double x, double y) {
        switch (op) {
            case NEG: return -1;
            case EXP: return y;
            case LOG: return 1.0 / x;
            case SQRT: return 0.5 / y;
            case RSQRT: return -0.5 * y * y * y;
            case TANH: return 1 - y * y;
            case SIGMOID: return y * (1 - y);
            case RELU: return x > 0 ? 1 : 0;
            case GELU: return 0.5 * (1 + Erf.erf(x * SQRT1_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
            case QUICK_GELU: {
                double s = sigmoid(1.702 * x);
                return s + 1.702 * x * s * (1 - s);
            }
            case ABS: return x > 0 ? 1 : (x < 0 ? -1 : 0);
            default: throw new AssertionError(op);
        }
    }

    static double sigmoid(double x) {
        if (x >= 0) return 1.0 / (1.0 + Math.exp(-x));
        double e = Math.exp(x);
        return e / (1.0 + e);
    }

    static double binaryValue(BinaryOp op, double a, double b) {
        switch (op) {
            case ADD: return a + b;
            case SUB: return a - b;
            case MUL: return a * b;
            case DIV: return a / b;
            case POW: return Math.pow(a, b);
            case MAX: return Math.max(a, b);
            case MIN: return Math.min(a, b);
            case RSUB: return b - a;
            case RDIV: return b / a;
            default: throw new AssertionError(op);
        }
    }

    // ---- generic strided driver -----------------------------------------------------------

    /** A kernel over one row of the broadcast output: n elements at the given offsets and strides. */
    private interface RowKernel {
        void row(int n, int[] off, int[] inner);
    }

    /** Walks the rows of {@code outShape}; operand i has storage offset {@code bases[i]} and strides {@code strides[i]}. */
    private static void forRows(int[] outShape, int[] bases, int[][] strides, RowKernel k) {
        int numel = Shapes.numel(outShape);
        if (numel == 0) return;
        int rank = outShape.length;
        int cols = rank == 0 ? 1 : outShape[rank - 1];
        int rows = numel / cols;
        int ops = bases.length;
        int[] inner = new int[ops];
        for (int i = 0; i < ops; i++) inner[i] = rank == 0 ? 0 : strides[i][rank - 1];
        Parallel.forRange(rows, Math.max(1, 8192 / Math.max(cols, 1)), (r0, r1) -> {
            int[] off = new int[ops];
            for (int r = r0; r < r1; r++) {
                for (int i = 0; i < ops; i++) off[i] = Cpu.rowOffset(r, outShape, strides[i], bases[i]);
                k.row(cols, off, inner);
            }
        });
    }

    // ---- unary ----------------------------------------------------------------------------

    static Tensor unary(UnaryOp op, Tensor x) {
        Cpu.requireCompute(op.name().toLowerCase(), x);
        Tensor out = Tensor.empty(x.dtype(), x.shape());
        int[] shape = x.shape();
        int[][] st = {out.strides(), x.strides()};
        if (x.dtype() == DType.F32 && x.isContiguous() && VecActivations.supports(op)) {
            float[] o = Cpu.f32(out), a = Cpu.f32(x);
            int xo = x.offset();
            Parallel.forRange(x.numel(), 16384, (s, e) -> VecActivations.forward(op, a, xo, o, 0, s, e));
            return out;
        }
        if (x.dtype() == DType.F32) {
            float[] o = Cpu.f32(out), a = Cpu.f32(x);
            forRows(shape, new int[]{0, x.offset()}, st, (n, off, in) -> {
                for (int c = 0; c < n; c++) o[off[0] + c] = (float) unaryValue(op, a[off[1] + c * in[1]]);
            });
        } else {
            double[] o = Cpu.f64(out), a = Cpu.f64(x);
            forRows(shape, new int[]{0, x.offset()}, st, (n, off, in) -> {
                for (int c = 0; c < n; c++) o[off[0] + c] = unaryValue(op, a[off[1] + c * in[1]]);
            });
        }
        return out;
    }

    static Tensor unaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy) {
        String name = op.name().toLowerCase() + "_backward";
        Cpu.requireCompute(name, gy);
        Cpu.requireSameDType(name, x, gy);
        Cpu.requireSameDType(name, y, gy);
        int[] shape = gy.shape();
        Tensor out = Tensor.empty(gy.dtype(), shape);
        if (gy.dtype() == DType.F32 && VecActivations.supports(op) && x.isContiguous() && gy.isContiguous()
                && java.util.Arrays.equals(x.shape(), shape)) {
            float[] o = Cpu.f32(out), xa = Cpu.f32(x), g = Cpu.f32(gy);
            int xo = x.offset(), go = gy.offset();
            Parallel.forRange(gy.numel(), 16384, (s, e) -> VecActivations.backward(op, xa, xo, g, go, o, 0, s, e));
            return out;
        }
        int[][] st = {out.strides(), Cpu.broadcastStrides(name, x, shape), Cpu.broadcastStrides(name, y, shape), gy.strides()};
        int[] bases = {0, x.offset(), y.offset(), gy.offset()};
        if (gy.dtype() == DType.F32) {
            float[] o = Cpu.f32(out), xa = Cpu.f32(x), ya = Cpu.f32(y), g = Cpu.f32(gy);
            forRows(shape, bases, st, (n, off, in) -> {
                for (int c = 0; c < n; c++) {
                    o[off[0] + c] = (float) (g[off[3] + c * in[3]] * unaryDerivative(op, xa[off[1] + c * in[1]], ya[off[2] + c * in[2]]));
                }
            });
        } else {
            double[] o = Cpu.f64(out), xa = Cpu.f64(x), ya = Cpu.f64(y), g = Cpu.f64(gy);
            forRows(shape, bases, st, (n, off, in) -> {
                for (int c = 0; c < n; c++) {
                    o[off[0] + c] = g[off[3] + c * in[3]] * unaryDerivative(op, xa[off[1] + c * in[1]], ya[off[2] + c * in[2]]);
                }
            });
        }
        return out;
    }

    // ---- binary ---------------------------------------------------------------------------

    static Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        String name = op.name().toLowerCase();
        Cpu.requireCompute(name, a);
        Cpu.requireSameDType(name, a, b);
        int[] shape = Shapes.broadcast(name, a.shape(), b.shape());
        Tensor out = Tensor.empty(a.dtype(), shape);
        binaryInto(op, name, a, b, out);
        return out;
    }

    private static void binaryInto(BinaryOp op, String name, Tensor a, Tensor b, Tensor out) {
        int[] shape = out.shape();
        if (a.dtype() == DType.F32 && a.isContiguous() && b.isContiguous() && out.isContiguous()
                && java.util.Arrays.equals(a.shape(), shape) && java.util.Arrays.equals(b.shape(), shape)) {
            float[] o = Cpu.f32(out), x = Cpu.f32(a), y = Cpu.f32(b);
            int ao = a.offset(), bo = b.offset(), oo = out.offset();
            Parallel.forRange(out.numel(), 16384, (s, e) -> flatF32(op, x, ao, y, bo, o, oo, s, e));
            return;
        }
        int[][] st = {out.strides(), Cpu.broadcastStrides(name, a, shape), Cpu.broadcastStrides(name, b, shape)};
        int[] bases = {out.offset(), a.offset(), b.offset()};
        if (a.dtype() == DType.F32) {
            float[] o = Cpu.f32(out), x = Cpu.f32(a), y = Cpu.f32(b);
            forRows(shape, bases, st, (n, off, in) -> {
                int o0 = off[0], oc = in[0], x0 = off[1], xc = in[1], y0 = off[2], yc = in[2];
                if (op == BinaryOp.ADD) for (int c = 0; c < n; c++) o[o0 + c * oc] = x[x0 + c * xc] + y[y0 + c * yc];
                else if (op == BinaryOp.MUL) for (int c = 0; c < n; c++) o[o0 + c * oc] = x[x0 + c * xc] * y[y0 + c * yc];
                else for (int c = 0; c < n; c++) o[o0 + c * oc] = (float) binaryValue(op, x[x0 + c * xc], y[y0 + c * yc]);
            });
        } else {
            double[] o = Cpu.f64(out), x = Cpu.f64(a), y = Cpu.f64(b);
            forRows(shape, bases, st, (n, off, in) -> {
                for (int c = 0; c < n; c++) o[off[0] + c * in[0]] = binaryValue(op, x[off[1] + c * in[1]], y[off[2] + c * in[2]]);
            });
        }
    }

    private static void flatF32(BinaryOp op, float[] x, int ao, float[] y, int bo, float[] o, int oo, int s, int e) {
        switch (op) {
            case ADD: for (int i = s; i < e; i++) o[oo + i] = x[ao + i] + y[bo + i]; break;
            case SUB: for (int i = s; i < e; i++) o[oo + i] = x[ao + i] - y[bo + i]; break;
            case MUL: for (int i = s; i < e; i++) o[oo + i] = x[ao + i] * y[bo + i]; break;
            case DIV: for (int i = s; i < e; i++) o[oo + i] = x[ao + i] / y[bo + i]; break;
            default: for (int i = s; i < e; i++) o[oo + i] = (float) binaryValue(op, x[ao + i], y[bo + i]);
        }
    }

    static Tensor binaryScalar(BinaryOp op, Tensor a, double s) {
        String name = op.name().toLowerCase() + "_scalar";
        Cpu.requireCompute(name, a);
        int[] shape = a.shape();
        Tensor out = Tensor.empty(a.dtype(), shape);
        int[][] st = {out.strides(), a.strides()};
        int[] bases = {0, a.offset()};
        if (a.dtype() == DType.F32) {
            float[] o = Cpu.f32(out), x = Cpu.f32(a);
            float fs = (float) s;
            forRows(shape, bases, st, (n, off, in) -> {
                int o0 = off[0], x0 = off[1], xc = in[1];
                if (op == BinaryOp.MUL) for (int c = 0; c < n; c++) o[o0 + c] = x[x0 + c * xc] * fs;
                else if (op == BinaryOp.ADD) for (int c = 0; c < n; c++) o[o0 + c] = x[x0 + c * xc] + fs;
                else for (int c = 0; c < n; c++) o[o0 + c] = (float) binaryValue(op, x[x0 + c * xc], s);
            });
        } else {
            double[] o = Cpu.f64(out), x = Cpu.f64(a);
            forRows(shape, bases, st, (n, off, in) -> {
                for (int c = 0; c < n; c++) o[off[0] + c] = binaryValue(op, x[off[1] + c * in[1]], s);
            });
        }
        return out;
    }

    static void binaryInPlace(BinaryOp op, Tensor dst, Tensor src) {
        String name = op.name().toLowerCase() + "_";
        Cpu.requireCompute(name, dst);
        Cpu.requireSameDType(name, dst, src);
        binaryInto(op, name, dst, src, dst);
    }

    static void axpby(Tensor dst, double alpha, Tensor src, double beta) {
        Cpu.requireCompute("axpby", dst);
        Cpu.requireSameDType("axpby", dst, src);
        int[] shape = dst.shape();
        int[][] st = {dst.strides(), Cpu.broadcastStrides("axpby", src, shape)};
        int[] bases = {dst.offset(), src.offset()};
        if (dst.dtype() == DType.F32) {
            float[] o = Cpu.f32(dst), x = Cpu.f32(src);
            float fa = (float) alpha, fb = (float) beta;
            forRows(shape, bases, st, (n, off, in) -> {
                int o0 = off[0], oc = in[0], x0 = off[1], xc = in[1];
                for (int c = 0; c < n; c++) o[o0 + c * oc] = o[o0 + c * oc] * fa + x[x0 + c * xc] * fb;
            });
        } else {
            double[] o = Cpu.f64(dst), x = Cpu.f64(src);
            forRows(shape, bases, st, (n, off, in) -> {
                for (int c = 0; c < n; c++) o[off[0] + c * in[0]] = o[off[0] + c * in[0]] * alpha + x[off[1] + c * in[1]] * beta;
            });
        }
    }

    // ---- comparisons and selection --------------------------------------------------------

    static Tensor compare(CompareOp op, Tensor a, Tensor b) {
        String name = op.name().toLowerCase();
        Cpu.requireSameDType(name, a, b);
        int[] shape = Shapes.broadcast(name, a.shape(), b.shape());
        Tensor out = Tensor.empty(DType.BOOL, shape);
        int[][] st = {out.strides(), Cpu.broadcastStrides(name, a, shape), Cpu.broadcastStrides(name, b, shape)};
        byte[] o = out.hostStorage().bool();
        HostStorage x = a.hostStorage(), y = b.hostStorage();
        forRows(shape, new int[]{0, a.offset(), b.offset()}, st, (n, off, in) -> {
            for (int c = 0; c < n; c++) {
                double u = x.getDouble(off[1] + c * in[1]), v = y.getDouble(off[2] + c * in[2]);
                boolean r;
                switch (op) {
                    case EQ: r = u == v; break;
                    case NE: r = u != v; break;
                    case LT: r = u < v; break;
                    case LE: r = u <= v; break;
                    case GT: r = u > v; break;
                    default: r = u >= v;
                }
                o[off[0] + c] = (byte) (r ? 1 : 0);
            }
        });
        return out;
    }

    static Tensor where(Tensor cond, Tensor a, Tensor b) {
        if (cond.dtype() != DType.BOOL) throw new DTypeException("where: the condition must be BOOL, got " + cond.describe());
        Cpu.requireSameDType("where", a, b);
        int[] shape = Shapes.broadcast("where", Shapes.broadcast("where", cond.shape(), a.shape()), b.shape());
        Tensor out = Tensor.empty(a.dtype(), shape);
        int[][] st = {out.strides(), Cpu.broadcastStrides("where", cond, shape),
                Cpu.broadcastStrides("where", a, shape), Cpu.broadcastStrides("where", b, shape)};
        byte[] m = cond.hostStorage().bool();
        int[] bases = {0, cond.offset(), a.offset(), b.offset()};
        if (a.dtype() == DType.F32) {
            float[] o = Cpu.f32(out), x = Cpu.f32(a), y = Cpu.f32(b);
            forRows(shape, bases, st, (n, off, in) -> {
                for (int c = 0; c < n; c++) o[off[0] + c] = m[off[1] + c * in[1]] != 0 ? x[off[2] + c * in[2]] : y[off[3] + c * in[3]];
            });
        } else {
            HostStorage o = out.hostStorage(), x = a.hostStorage(), y = b.hostStorage();
            forRows(shape, bases, st, (n, off, in) -> {
                for (int c = 0; c < n; c++) o.setDouble(off[0] + c, m[off[1] + c * in[1]] != 0 ? x.getDouble(off[2] + c * in[2]) : y.getDouble(off[3] + c * in[3]));
            });
        }
        return out;
    }
}
