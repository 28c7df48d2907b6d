package dev.clipvil.bench;

import dev.clipvil.backend.AttentionResult;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.NormResult;
import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.backend.cpu.Parallel;
import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;

import java.util.Arrays;
import java.util.function.Supplier;

/**
 * A small timing harness (not a JUnit test) for the CPU layer norm, softmax and attention kernels,
 * with a parallel array copy of the same size as the memory-bandwidth yardstick. Prints the median
 * and best time of each, and the bytes moved per second (each input read once, each output written once).
 *
 * <pre>
 * mvn -q -o test-compile -pl src
 * java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes dev.clipvil.bench.NormSoftmaxBench
 * </pre>
 */
public final class NormSoftmaxBench {
    private NormSoftmaxBench() {}

    private static final Backend BE = CpuBackend.get();

    /** Times {@code body} (which returns tensors to close); returns {median, best} seconds. */
    private static double[] time(int warmup, int reps, Supplier<Tensor[]> body) {
        for (int i = 0; i < warmup; i++) for (Tensor t : body.get()) if (t != null) t.close();
        double[] ts = new double[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            Tensor[] out = body.get();
            ts[i] = (System.nanoTime() - t0) * 1e-9;
            for (Tensor t : out) if (t != null) t.close();
        }
        Arrays.sort(ts);
        return new double[]{ts[reps / 2], ts[0]};
    }

    private static void report(String name, double[] t, double bytes) {
        System.out.printf("%-44s median %8.3f ms  best %8.3f ms  %6.2f GB/s (median)  %6.2f GB/s (best)%n",
                name, t[0] * 1e3, t[1] * 1e3, bytes / t[0] * 1e-9, bytes / t[1] * 1e-9);
    }

    public static void main(String[] args) {
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        System.out.printf("threads %d, vector species %s%n", Parallel.threads(), jdk.incubator.vector.FloatVector.SPECIES_PREFERRED);
        int rows = 12800, c = 768;
        long bytes = 4L * rows * c;
        Tensor x = Creation.randn(1, DType.F32, rows, c);
        Tensor w = Creation.randn(2, DType.F32, c), b = Creation.randn(3, DType.F32, c);
        Tensor gy = Creation.randn(4, DType.F32, rows, c);

        float[] src = x.hostStorage().f32(), dst = new float[src.length];
        report("copy [12800,768] F32 (bandwidth yardstick)", time(5, reps, () -> {
            Parallel.forRange(src.length, 1 << 16, (s, e) -> System.arraycopy(src, s, dst, s, e - s));
            return new Tensor[0];
        }), 2.0 * bytes);

        report("layer_norm fwd [12800,768] F32", time(10, reps, () -> {
            NormResult r = BE.layerNorm(x, w, b, 1e-5);
            return new Tensor[]{r.out(), r.mean(), r.rstd()};
        }), 2.0 * bytes);

        NormResult fr = BE.layerNorm(x, w, b, 1e-5);
        report("layer_norm bwd [12800,768] F32", time(5, reps, () -> BE.layerNormBackward(gy, x, w, fr.mean(), fr.rstd())), 3.0 * bytes);

        report("softmax fwd [12800,768] F32", time(10, reps, () -> new Tensor[]{BE.softmax(x, -1, false)}), 2.0 * bytes);
        report("log_softmax fwd [12800,768] F32", time(10, reps, () -> new Tensor[]{BE.softmax(x, -1, true)}), 2.0 * bytes);
        Tensor y = BE.softmax(x, -1, false);
        report("softmax bwd [12800,768] F32", time(5, reps, () -> new Tensor[]{BE.softmaxBackward(y, gy, -1, false)}), 3.0 * bytes);

        int srows = 16 * 12 * 197, sk = 197;
        Tensor s = Creation.randn(5, DType.F32, srows, sk);
        report("softmax fwd [37824,197] F32 (attention rows)", time(10, reps, () -> new Tensor[]{BE.softmax(s, -1, false)}), 2.0 * 4 * srows * sk);
        Tensor s0 = Creation.randn(6, DType.F32, 768, 12800);
        report("softmax fwd dim 0 [768,12800] F32 (strided)", time(3, Math.max(3, reps / 3), () -> new Tensor[]{BE.softmax(s0, 0, false)}), 2.0 * bytes);

        int bb = 4, h = 12, sq = 197, d = 64;
        Tensor q = Creation.randn(7, DType.F32, bb, h, sq, d), k = Creation.randn(8, DType.F32, bb, h, sq, d), v = Creation.randn(9, DType.F32, bb, h, sq, d);
        double flops = 4.0 * bb * h * sq * sq * d;
        double[] ta = time(3, Math.max(3, reps / 3), () -> {
            AttentionResult r = BE.attention(q, k, v, null, false, 0.125);
            return new Tensor[]{r.out(), r.lse()};
        });
        System.out.printf("%-44s median %8.3f ms  best %8.3f ms  %6.2f GFLOP/s (median)%n", "attention fwd B4 H12 S197 D64 F32", ta[0] * 1e3, ta[1] * 1e3, flops / ta[0] * 1e-9);
        AttentionResult ar = BE.attention(q, k, v, null, false, 0.125);
        Tensor go = Creation.randn(10, DType.F32, bb, h, sq, d);
        double[] tb = time(2, Math.max(3, reps / 3), () -> BE.attentionBackward(go, q, k, v, ar.out(), ar.lse(), null, false, 0.125));
        System.out.printf("%-44s median %8.3f ms  best %8.3f ms  %6.2f GFLOP/s (median, 2.5x fwd flops)%n", "attention bwd B4 H12 S197 D64 F32", tb[0] * 1e3, tb[1] * 1e3, 2.5 * flops / tb[0] * 1e-9);
    }
}
