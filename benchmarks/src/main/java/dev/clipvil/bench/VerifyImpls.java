package dev.clipvil.bench;

import dev.clipvil.backend.AttentionResult;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.backend.NormResult;
import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.backend.cpu.Parallel;
import dev.clipvil.tensor.Tensor;
import java.util.Locale;
import java.util.function.Supplier;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * Checks, on one small case per benchmark, that the engine and libtorch compute the same numbers from
 * the same inputs (max abs difference within a tolerance). Exit status 1 when any case differs.
 *
 * <p>Usage: {@code java --add-modules=jdk.incubator.vector -cp benchmarks.jar dev.clipvil.bench.VerifyImpls [--config]}
 */
public final class VerifyImpls {
    private static final double TOL = 1e-4;
    private static final Backend CLIP = CpuBackend.get();
    private int failures;

    private VerifyImpls() {}

    public static void main(String[] args) {
        int threads = Torch.matchThreads(Parallel.threads());
        System.out.println("threads: " + threads + " (both engines)");
        if (args.length > 0 && args[0].equals("--config")) System.out.println(Torch.config());
        VerifyImpls v = new VerifyImpls();
        try (InferenceMode guard = new InferenceMode()) {
            v.gemm(37, 53, 29);
            v.gemm(64, 64, 64);
            v.conv2d();
            v.layerNorm();
            v.softmax(19, 50);
            v.softmax(3, 768);
            v.attention();
        }
        if (v.failures > 0) {
            System.out.println(v.failures + " case(s) differ");
            System.exit(1);
        }
        System.out.println("all cases agree");
    }

    private void gemm(int m, int k, int n) {
        float[] a = Data.uniform(m * k, 1), b = Data.uniform(k * n, 2);
        compare("gemm " + m + "x" + k + "x" + n, () -> {
            try (Tensor x = Data.clip(a, m, k); Tensor y = Data.clip(b, k, n); Tensor c = CLIP.matmul(x, y, null)) {
                return c.toFloatArray();
            }
        }, () -> {
            try (var x = Torch.of(a, m, k); var y = Torch.of(b, k, n); var c = torch.mm(x, y)) {
                return Torch.toArray(c);
            }
        });
    }

    private void conv2d() {
        int n = 2, c = 5, h = 9, w = 9, k = 7;
        float[] xs = Data.uniform(n * c * h * w, 11), ws = Data.uniform(k * c * 9, 12);
        compare("conv2d 3x3 stride 1 pad 1, x [2,5,9,9], w [7,5,3,3]", () -> {
            try (Tensor x = Data.clip(xs, n, c, h, w); Tensor wt = Data.clip(ws, k, c, 3, 3);
                 Tensor y = CLIP.conv2d(x, wt, null, Conv2dParams.of(1, 1))) {
                return y.toFloatArray();
            }
        }, () -> {
            try (var x = Torch.of(xs, n, c, h, w); var wt = Torch.of(ws, k, c, 3, 3); var none = new TensorOptional();
                 var y = torch.conv2d(x, wt, none, new long[] {1, 1}, new long[] {1, 1}, new long[] {1, 1}, 1)) {
                return Torch.toArray(y);
            }
        });
    }

    private void layerNorm() {
        int rows = 13, c = 40;
        float[] xs = Data.uniform(rows * c, 21), ws = Data.uniform(c, 22), bs = Data.uniform(c, 23);
        compare("layerNorm [13,40] eps 1e-5", () -> {
            try (Tensor x = Data.clip(xs, rows, c); Tensor w = Data.clip(ws, c); Tensor b = Data.clip(bs, c)) {
                NormResult r = CLIP.layerNorm(x, w, b, 1e-5);
                float[] out = r.out().toFloatArray();
                Closer.close(r.out(), r.mean(), r.rstd());
                return out;
            }
        }, () -> {
            try (var x = Torch.of(xs, rows, c); var w = Torch.of(ws, c); var b = Torch.of(bs, c);
                 var wo = new TensorOptional(w); var bo = new TensorOptional(b);
                 var y = torch.layer_norm(x, new long[] {c}, wo, bo, 1e-5, false)) {
                return Torch.toArray(y);
            }
        });
    }

    private void softmax(int rows, int cols) {
        float[] xs = Data.uniform(rows * cols, 31);
        for (int i = 0; i < xs.length; i++) xs[i] *= 8;
        compare("softmax [" + rows + "," + cols + "]", () -> {
            try (Tensor x = Data.clip(xs, rows, cols); Tensor y = CLIP.softmax(x, -1, false)) {
                return y.toFloatArray();
            }
        }, () -> {
            try (var x = Torch.of(xs, rows, cols); var y = torch.softmax(x, -1)) {
                return Torch.toArray(y);
            }
        });
    }

    private void attention() {
        int b = 2, h = 3, s = 7, d = 8, n = b * h * s * d;
        float[] qs = Data.uniform(n, 41), ks = Data.uniform(n, 42), vs = Data.uniform(n, 43);
        compare("attention q,k,v [2,3,7,8]", () -> {
            try (Tensor q = Data.clip(qs, b, h, s, d); Tensor k = Data.clip(ks, b, h, s, d); Tensor v = Data.clip(vs, b, h, s, d)) {
                AttentionResult r = CLIP.attention(q, k, v, null, false, 1.0 / Math.sqrt(d));
                float[] out = r.out().toFloatArray();
                Closer.close(r.out(), r.lse());
                return out;
            }
        }, () -> {
            try (var q = Torch.of(qs, b, h, s, d); var k = Torch.of(ks, b, h, s, d); var v = Torch.of(vs, b, h, s, d);
                 var y = torch.scaled_dot_product_attention(q, k, v)) {
                return Torch.toArray(y);
            }
        });
    }

    private void compare(String name, Supplier<float[]> clipvil, Supplier<float[]> libtorch) {
        float[] ref = libtorch.get();
        float[] got = clipvil.get();
        if (got.length != ref.length) {
            failures++;
            System.out.println("FAIL  " + name + ": " + got.length + " elements vs libtorch's " + ref.length);
            return;
        }
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < ref.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs((double) got[i] - ref[i]));
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
        }
        double tol = TOL * Math.max(1, maxRef);
        boolean ok = maxDiff <= tol;
        if (!ok) failures++;
        System.out.println(String.format(Locale.ROOT, "%s  %s: max abs diff %.3g (tolerance %.3g)", ok ? "OK  " : "FAIL", name, maxDiff, tol));
    }
}
