package dev.clipvil.backend.cpu;

import dev.clipvil.backend.Pool2dParams;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/**
 * Average pooling over NCHW (or CHW) inputs with PyTorch's semantics. Each (n, c) plane is independent,
 * so threads split the planes; the backward pass scatters into its own plane and needs no locking.
 * Sums accumulate in double.
 */
final class CpuPool {
    private CpuPool() {}

    // ---- fixed windows ----------------------------------------------------------------------

    /**
     * One window along one axis: [lo, hi) clipped to the input, and the divisor PyTorch uses (the window
     * clipped to the padded input, or to the input when padding is not counted).
     */
    private record Window(int lo, int hi, int padded) {}

    private static Window window(int o, int k, int s, int p, int in) {
        int start = o * s - p;
        int end = Math.min(start + k, in + p);
        int padded = end - start;
        return new Window(Math.max(start, 0), Math.min(end, in), padded);
    }

    static Tensor avgPool2d(Tensor x, Pool2dParams p) {
        String op = "avg_pool2d";
        Cpu.requireCompute(op, x);
        int[] xs = x.shape();
        int h = spatial(op, xs, 2), w = spatial(op, xs, 1);
        int oh = outH(op, xs, h, p), ow = outW(op, xs, w, p);
        Window[] rows = windows(oh, p.kernelH(), p.strideH(), p.padH(), h), cols = windows(ow, p.kernelW(), p.strideW(), p.padW(), w);
        return gather(x, h, w, oh, ow, rows, cols, (r, q) -> divisor(r, q, p.countIncludePad()));
    }

    static Tensor avgPool2dBackward(Tensor gy, int[] inputShape, Pool2dParams p) {
        String op = "avg_pool2d_backward";
        Cpu.requireCompute(op, gy);
        int h = spatial(op, inputShape, 2), w = spatial(op, inputShape, 1);
        int oh = outH(op, inputShape, h, p), ow = outW(op, inputShape, w, p);
        requireShape(op, gy, withSpatial(inputShape, oh, ow), inputShape);
        Window[] rows = windows(oh, p.kernelH(), p.strideH(), p.padH(), h), cols = windows(ow, p.kernelW(), p.strideW(), p.padW(), w);
        return scatter(gy, inputShape, h, w, oh, ow, rows, cols, (r, q) -> divisor(r, q, p.countIncludePad()));
    }

    private static Window[] windows(int n, int k, int s, int p, int in) {
        Window[] ws = new Window[n];
        for (int i = 0; i < n; i++) ws[i] = window(i, k, s, p, in);
        return ws;
    }

    private static int divisor(Window r, Window q, boolean countIncludePad) {
        return countIncludePad ? r.padded() * q.padded() : (r.hi() - r.lo()) * (q.hi() - q.lo());
    }

    private static int outH(String op, int[] xs, int h, Pool2dParams p) {
        if (h + 2 * p.padH() < p.kernelH()) throw tooSmall(op, xs, p);
        return p.outH(h);
    }

    private static int outW(String op, int[] xs, int w, Pool2dParams p) {
        if (w + 2 * p.padW() < p.kernelW()) throw tooSmall(op, xs, p);
        return p.outW(w);
    }

    private static ShapeException tooSmall(String op, int[] xs, Pool2dParams p) {
        return new ShapeException(op + ": input " + Shapes.str(xs) + " is too small for kernel " + p.kernelH() + "x" + p.kernelW()
                + " with padding " + p.padH() + "x" + p.padW());
    }

    // ---- adaptive windows -------------------------------------------------------------------

    /** PyTorch's adaptive window i of n over in: [floor(i*in/n), ceil((i+1)*in/n)). */
    private static Window[] adaptive(int n, int in) {
        Window[] ws = new Window[n];
        for (int i = 0; i < n; i++) {
            int lo = (int) ((long) i * in / n);
            int hi = (int) (((long) (i + 1) * in + n - 1) / n);
            ws[i] = new Window(lo, hi, hi - lo);
        }
        return ws;
    }

    static Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW) {
        String op = "adaptive_avg_pool2d";
        Cpu.requireCompute(op, x);
        int[] xs = x.shape();
        int h = spatial(op, xs, 2), w = spatial(op, xs, 1);
        if (outH < 1 || outW < 1) throw new ShapeException(op + ": output size " + outH + "x" + outW + " must be positive (input " + Shapes.str(xs) + ")");
        if (h < 1 || w < 1) throw new ShapeException(op + ": input " + Shapes.str(xs) + " has an empty spatial dimension");
        return gather(x, h, w, outH, outW, adaptive(outH, h), adaptive(outW, w), (r, q) -> r.padded() * q.padded());
    }

    static Tensor adaptiveAvgPool2dBackward(Tensor gy, int[] inputShape) {
        String op = "adaptive_avg_pool2d_backward";
        Cpu.requireCompute(op, gy);
        int h = spatial(op, inputShape, 2), w = spatial(op, inputShape, 1);
        if (gy.dim() != inputShape.length) {
            throw new ShapeException(op + ": gradient " + Shapes.str(gy.shape()) + " does not match input " + Shapes.str(inputShape));
        }
        int oh = gy.shape(-2), ow = gy.shape(-1);
        requireShape(op, gy, withSpatial(inputShape, oh, ow), inputShape);
        if (oh < 1 || ow < 1 || h < 1 || w < 1) throw new ShapeException(op + ": empty spatial size in gradient " + Shapes.str(gy.shape()) + " or input " + Shapes.str(inputShape));
        return scatter(gy, inputShape, h, w, oh, ow, adaptive(oh, h), adaptive(ow, w), (r, q) -> r.padded() * q.padded());
    }

    // ---- shared -----------------------------------------------------------------------------

    private interface Divisor {
        int of(Window r, Window q);
    }

    /** Each output element is the sum of its window divided by the window's divisor. */
    private static Tensor gather(Tensor x, int h, int w, int oh, int ow, Window[] rows, Window[] cols, Divisor div) {
        Tensor out = Tensor.empty(x.dtype(), withSpatial(x.shape(), oh, ow));
        int planes = x.numel() / Math.max(1, h * w);
        Tensor xc = Cpu.dense(x);
        try {
            boolean f32 = x.dtype() == DType.F32;
            float[] xf = f32 ? Cpu.f32(xc) : null, of = f32 ? Cpu.f32(out) : null;
            double[] xd = f32 ? null : Cpu.f64(xc), od = f32 ? null : Cpu.f64(out);
            int xb = xc.offset();
            Parallel.forRange(planes, grain(h * w), (c0, c1) -> {
                for (int c = c0; c < c1; c++) {
                    int in = xb + c * h * w, ob = c * oh * ow;
                    for (int i = 0; i < oh; i++) {
                        Window r = rows[i];
                        for (int j = 0; j < ow; j++) {
                            Window q = cols[j];
                            double sum = 0;
                            for (int y = r.lo(); y < r.hi(); y++) {
                                int rs = in + y * w;
                                if (f32) for (int z = q.lo(); z < q.hi(); z++) sum += xf[rs + z];
                                else for (int z = q.lo(); z < q.hi(); z++) sum += xd[rs + z];
                            }
                            double v = sum / div.of(r, q);
                            if (f32) of[ob + i * ow + j] = (float) v; else od[ob + i * ow + j] = v;
                        }
                    }
                }
            });
        } finally {
            Cpu.release(xc, x);
        }
        return out;
    }

    /** gx = zeros(inputShape); each output gradient spread evenly over its window. */
    private static Tensor scatter(Tensor gy, int[] inputShape, int h, int w, int oh, int ow, Window[] rows, Window[] cols, Divisor div) {
        Tensor gx = Tensor.empty(gy.dtype(), inputShape);
        CpuCopy.fill(gx, 0);
        int planes = gx.numel() / Math.max(1, h * w);
        Tensor gc = Cpu.dense(gy);
        try {
            boolean f32 = gy.dtype() == DType.F32;
            float[] gf = f32 ? Cpu.f32(gc) : null, af = f32 ? Cpu.f32(gx) : null;
            double[] gd = f32 ? null : Cpu.f64(gc), ad = f32 ? null : Cpu.f64(gx);
            int gb = gc.offset();
            Parallel.forRange(planes, grain(h * w), (c0, c1) -> {
                for (int c = c0; c < c1; c++) {
                    int xb = c * h * w, ob = gb + c * oh * ow;
                    for (int i = 0; i < oh; i++) {
                        Window r = rows[i];
                        for (int j = 0; j < ow; j++) {
                            Window q = cols[j];
                            double v = (f32 ? gf[ob + i * ow + j] : gd[ob + i * ow + j]) / div.of(r, q);
                            for (int y = r.lo(); y < r.hi(); y++) {
                                int rs = xb + y * w;
                                if (f32) { float fv = (float) v; for (int z = q.lo(); z < q.hi(); z++) af[rs + z] += fv; }
                                else for (int z = q.lo(); z < q.hi(); z++) ad[rs + z] += v;
                            }
                        }
                    }
                }
            });
        } finally {
            Cpu.release(gc, gy);
        }
        return gx;
    }

    /** Size of the spatial dim {@code fromEnd} places from the end (2 = H, 1 = W) of an NCHW or CHW shape. */
    private static int spatial(String op, int[] shape, int fromEnd) {
        if (shape.length != 4 && shape.length != 3) {
            throw new ShapeException(op + ": expected an NCHW (or CHW) input, got shape " + Shapes.str(shape));
        }
        return shape[shape.length - fromEnd];
    }

    private static int[] withSpatial(int[] shape, int h, int w) {
        int[] s = shape.clone();
        s[s.length - 2] = h;
        s[s.length - 1] = w;
        return s;
    }

    private static void requireShape(String op, Tensor gy, int[] want, int[] inputShape) {
        if (!java.util.Arrays.equals(gy.shape(), want)) {
            throw new ShapeException(op + ": gradient of shape " + Shapes.str(gy.shape()) + " does not match the output " + Shapes.str(want)
                    + " of an input " + Shapes.str(inputShape));
        }
    }

    private static int grain(int planeSize) { return Math.max(1, 16384 / Math.max(1, planeSize)); }
}
