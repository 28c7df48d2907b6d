package dev.clipvil.backend.cpu;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.Arrays;

/**
 * In-place optimizer updates with PyTorch's single-tensor semantics (torch.optim.AdamW / SGD with
 * foreach=False). Every operand has the parameter's shape and dtype (F32 or F64). F32 elements are
 * updated in double precision and rounded once when stored. Contiguous operands are updated in place
 * directly; a strided operand goes through a contiguous copy (written back for the parameter and state).
 */
final class CpuOptim {
    private CpuOptim() {}

    /** Elements per task below which the update runs on the calling thread. */
    private static final int GRAIN = 1 << 15;

    /** The update of elements [from, to): element i of operand j is {@code a[j][o[j] + i]}. */
    private interface Kernel {
        void f32(float[][] a, int[] o, int from, int to);
        void f64(double[][] a, int[] o, int from, int to);
    }

    static void adamw(Tensor p, Tensor g, Tensor m, Tensor v, double lr, double b1, double b2, double eps, double wd, long step) {
        if (step < 1) throw new IllegalArgumentException("adamw: step must be >= 1, got " + step);
        double decay = 1 - lr * wd;
        double bc1 = 1 - Math.pow(b1, step);
        double bc2Sqrt = Math.sqrt(1 - Math.pow(b2, step));
        double stepSize = lr / bc1;
        double c1 = 1 - b1, c2 = 1 - b2;
        run("adamw", new Tensor[]{p, m, v}, new Tensor[]{g}, new Kernel() {
            @Override public void f32(float[][] a, int[] o, int from, int to) {
                float[] pa = a[0], ma = a[1], va = a[2], ga = a[3];
                int po = o[0], mo = o[1], vo = o[2], go = o[3];
                for (int i = from; i < to; i++) {
                    double gi = ga[go + i];
                    float mi = (float) (b1 * ma[mo + i] + c1 * gi);
                    float vi = (float) (b2 * va[vo + i] + c2 * gi * gi);
                    ma[mo + i] = mi;
                    va[vo + i] = vi;
                    double denom = Math.sqrt(vi) / bc2Sqrt + eps;
                    pa[po + i] = (float) (pa[po + i] * decay - stepSize * mi / denom);
                }
            }

            @Override public void f64(double[][] a, int[] o, int from, int to) {
                double[] pa = a[0], ma = a[1], va = a[2], ga = a[3];
                int po = o[0], mo = o[1], vo = o[2], go = o[3];
                for (int i = from; i < to; i++) {
                    double gi = ga[go + i];
                    double mi = b1 * ma[mo + i] + c1 * gi;
                    double vi = b2 * va[vo + i] + c2 * gi * gi;
                    ma[mo + i] = mi;
                    va[vo + i] = vi;
                    pa[po + i] = pa[po + i] * decay - stepSize * mi / (Math.sqrt(vi) / bc2Sqrt + eps);
                }
            }
        });
    }

    static void sgd(Tensor p, Tensor g, Tensor buf, double lr, double momentum, double dampening, double wd, boolean nesterov, boolean first) {
        if (momentum == 0) {
            if (nesterov) throw new IllegalArgumentException("sgd: nesterov needs a momentum > 0");
            run("sgd", new Tensor[]{p}, new Tensor[]{g}, new Kernel() {
                @Override public void f32(float[][] a, int[] o, int from, int to) {
                    float[] pa = a[0], ga = a[1];
                    int po = o[0], go = o[1];
                    for (int i = from; i < to; i++) {
                        float d = (float) (ga[go + i] + wd * pa[po + i]);
                        pa[po + i] = (float) (pa[po + i] - lr * d);
                    }
                }

                @Override public void f64(double[][] a, int[] o, int from, int to) {
                    double[] pa = a[0], ga = a[1];
                    int po = o[0], go = o[1];
                    for (int i = from; i < to; i++) pa[po + i] = pa[po + i] - lr * (ga[go + i] + wd * pa[po + i]);
                }
            });
            return;
        }
        if (buf == null) throw new IllegalArgumentException("sgd: a momentum buffer is required when momentum is " + momentum);
        double keep = 1 - dampening;
        run("sgd", new Tensor[]{p, buf}, new Tensor[]{g}, new Kernel() {
            @Override public void f32(float[][] a, int[] o, int from, int to) {
                float[] pa = a[0], ba = a[1], ga = a[2];
                int po = o[0], bo = o[1], go = o[2];
                for (int i = from; i < to; i++) {
                    float d = (float) (ga[go + i] + wd * pa[po + i]);
                    float b = first ? d : (float) (momentum * ba[bo + i] + keep * d);
                    ba[bo + i] = b;
                    double upd = nesterov ? (float) (d + momentum * b) : b;
                    pa[po + i] = (float) (pa[po + i] - lr * upd);
                }
            }

            @Override public void f64(double[][] a, int[] o, int from, int to) {
                double[] pa = a[0], ba = a[1], ga = a[2];
                int po = o[0], bo = o[1], go = o[2];
                for (int i = from; i < to; i++) {
                    double d = ga[go + i] + wd * pa[po + i];
                    double b = first ? d : momentum * ba[bo + i] + keep * d;
                    ba[bo + i] = b;
                    pa[po + i] = pa[po + i] - lr * (nesterov ? d + momentum * b : b);
                }
            }
        });
    }

    /**
     * Checks the operands, makes each dense, runs the kernel over [0, numel) in parallel chunks and
     * writes strided outputs back. {@code written} come first in the kernel's arrays, then {@code read}.
     */
    private static void run(String op, Tensor[] written, Tensor[] read, Kernel k) {
        Tensor p = written[0];
        Cpu.requireCompute(op, p);
        int[] shape = p.shape();
        for (Tensor t : concat(written, read)) {
            Cpu.requireSameDType(op, p, t);
            if (!Arrays.equals(shape, t.shape())) {
                throw new ShapeException(op + ": operand of shape " + Shapes.str(t.shape()) + " does not match the parameter's " + Shapes.str(shape));
            }
        }
        Tensor[] all = concat(written, read);
        Tensor[] dense = new Tensor[all.length];
        for (int i = 0; i < all.length; i++) dense[i] = Cpu.dense(all[i]);
        try {
            int n = p.numel();
            int[] offsets = new int[all.length];
            for (int i = 0; i < all.length; i++) offsets[i] = dense[i].offset();
            if (p.dtype() == DType.F32) {
                float[][] arrays = new float[all.length][];
                for (int i = 0; i < all.length; i++) arrays[i] = Cpu.f32(dense[i]);
                Parallel.forRange(n, GRAIN, (from, to) -> k.f32(arrays, offsets, from, to));
            } else {
                double[][] arrays = new double[all.length][];
                for (int i = 0; i < all.length; i++) arrays[i] = Cpu.f64(dense[i]);
                Parallel.forRange(n, GRAIN, (from, to) -> k.f64(arrays, offsets, from, to));
            }
            for (int i = 0; i < written.length; i++) {
                if (dense[i] != all[i]) CpuCopy.copy(dense[i], all[i]);
            }
        } finally {
            for (int i = 0; i < all.length; i++) Cpu.release(dense[i], all[i]);
        }
    }

    private static Tensor[] concat(Tensor[] a, Tensor[] b) {
        Tensor[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
