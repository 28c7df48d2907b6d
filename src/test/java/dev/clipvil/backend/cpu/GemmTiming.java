package dev.clipvil.backend.cpu;

import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;

/**
 * A timing harness (not a unit test) for the CPU GEMM and conv2d. Prints the best GFLOP/s of several
 * runs, since other processes may share the cores. Run from the repository root after
 * {@code mvn -o test-compile -pl src}:
 * <pre>
 * java --add-modules=jdk.incubator.vector -cp target/classes:target/test-classes dev.clipvil.backend.cpu.GemmTiming [what...]
 * </pre>
 * where {@code what} is any of {@code gemm1024 gemmT1024 gemmBig conv convBwd convMore} (default: all).
 */
public final class GemmTiming {
    private GemmTiming() {}

    public static void main(String[] args) {
        java.util.Set<String> what = new java.util.HashSet<>(java.util.List.of(args));
        boolean all = what.isEmpty();
        CpuBackend be = CpuBackend.get();
        System.out.println("threads " + Parallel.threads() + ", vector " + GemmKernelF32.S);
        if (all || what.contains("gemm1024")) {
            Tensor a = rand(1, 1024, 1024), b = rand(2, 1024, 1024);
            time("matmul 1024x1024x1024", 2.0 * 1024 * 1024 * 1024, 15, () -> be.matmul(a, b, null).close());
        }
        if (all || what.contains("gemmT1024")) {
            Tensor a = rand(1, 1024, 1024), b = rand(2, 1024, 1024);
            Tensor bt = b.asStrided(new int[]{1024, 1024}, new int[]{1, 1024}, 0);
            Tensor at = a.asStrided(new int[]{1024, 1024}, new int[]{1, 1024}, 0);
            time("matmul 1024^3 b transposed", 2.0 * 1024 * 1024 * 1024, 10, () -> be.matmul(a, bt, null).close());
            time("matmul 1024^3 a transposed", 2.0 * 1024 * 1024 * 1024, 10, () -> be.matmul(at, b, null).close());
        }
        if (all || what.contains("gemmBig")) {
            Tensor a = rand(3, 12800, 768), b = rand(4, 768, 3072), bias = rand(5, 3072);
            time("matmul [12800,768]x[768,3072]+bias", 2.0 * 12800 * 768 * 3072, 5, () -> be.matmul(a, b, bias).close());
            Tensor w = rand(6, 3072, 768);
            Tensor wt = w.asStrided(new int[]{768, 3072}, new int[]{1, 768}, 0);
            time("linear [12800,768]x[3072,768]^T+bias", 2.0 * 12800 * 768 * 3072, 5, () -> be.matmul(a, wt, bias).close());
        }
        if (all || what.contains("conv") || what.contains("convBwd")) {
            Tensor x = rand(7, 8, 64, 56, 56), w = rand(8, 64, 64, 3, 3), bias = rand(9, 64);
            Conv2dParams p = Conv2dParams.of(1, 1);
            double flops = 2.0 * 8 * 64 * 56 * 56 * 64 * 9;
            if (all || what.contains("conv")) {
                time("conv2d 3x3 N8 C64 K64 56x56 pad1", flops, 15, () -> be.conv2d(x, w, bias, p).close());
            }
            if (all || what.contains("convBwd")) {
                Tensor gy = rand(10, 8, 64, 56, 56);
                time("conv2d backwardInput", flops, 10, () -> be.conv2dBackwardInput(gy, w, x.shape(), p).close());
                time("conv2d backwardWeight", flops, 10, () -> be.conv2dBackwardWeight(gy, x, w.shape(), p).close());
            }
        }
        if (all || what.contains("convMore")) {
            convCase("7x7 s2 stem N8 C3 K64 224", new int[]{8, 3, 224, 224}, new int[]{64, 3, 7, 7}, Conv2dParams.of(2, 3), true);
            convCase("3x3 s2 N8 C64 K128 56", new int[]{8, 64, 56, 56}, new int[]{128, 64, 3, 3}, Conv2dParams.of(2, 1), true);
            convCase("1x1 N8 C256 K64 56", new int[]{8, 256, 56, 56}, new int[]{64, 256, 1, 1}, Conv2dParams.of(1, 0), true);
            convCase("3x3 N8 C256 K256 14", new int[]{8, 256, 14, 14}, new int[]{256, 256, 3, 3}, Conv2dParams.of(1, 1), true);
            convCase("3x3 N1 C64 K64 56", new int[]{1, 64, 56, 56}, new int[]{64, 64, 3, 3}, Conv2dParams.of(1, 1), false);
        }
    }

    private static void convCase(String name, int[] xs, int[] ws, Conv2dParams p, boolean backward) {
        CpuBackend be = CpuBackend.get();
        Tensor x = rand(11, xs), w = rand(12, ws);
        int oh = p.outH(xs[2], ws[2]), ow = p.outW(xs[3], ws[3]);
        double flops = 2.0 * xs[0] * ws[0] * oh * ow * ws[1] * ws[2] * ws[3];
        time("conv2d " + name, flops, 8, () -> be.conv2d(x, w, null, p).close());
        if (backward) {
            Tensor gy = rand(13, xs[0], ws[0], oh, ow);
            time("  backwardInput", flops, 5, () -> be.conv2dBackwardInput(gy, w, xs, p).close());
            time("  backwardWeight", flops, 5, () -> be.conv2dBackwardWeight(gy, x, ws, p).close());
        }
    }

    private static Tensor rand(long seed, int... shape) {
        Tensor t = Tensor.empty(DType.F32, shape);
        CpuBackend.get().fillUniform(t, -1, 1, seed);
        return t;
    }

    private static void time(String name, double flops, int runs, Runnable r) {
        long warm = System.nanoTime();
        for (int i = 0; i < 3 || System.nanoTime() - warm < 2_000_000_000L; i++) r.run(); // warm up (JIT)
        // with one thread the work runs on this thread, so its CPU time is a load-independent figure
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        double best = Double.MAX_VALUE, bestCpu = Double.MAX_VALUE, sum = 0;
        for (int i = 0; i < runs; i++) {
            long c0 = mx.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            r.run();
            double s = (System.nanoTime() - t0) / 1e9;
            bestCpu = Math.min(bestCpu, (mx.getCurrentThreadCpuTime() - c0) / 1e9);
            best = Math.min(best, s);
            sum += s;
        }
        System.out.printf("%-40s best %8.2f ms  %7.1f GFLOP/s   (mean %7.1f GFLOP/s)%s%n", name, best * 1e3, flops / best / 1e9, flops / (sum / runs) / 1e9,
                Parallel.threads() == 1 ? String.format("  per CPU-second %7.1f GFLOP/s", flops / bestCpu / 1e9) : "");
    }
}
