package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.DType;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bookkeeping of a dry-run context ({@link CudaContext#installDryRun}): every launch's packed
 * arguments are checked against the kernel's parameters in its source (each time, not once) and its
 * launch configuration against CUDA's limits, then counted per kernel. Nothing runs. While a graph is
 * captured on a dry-run context, launches and GEMMs are recorded by the graph instead of counted; each
 * replay counts them again ({@link #replayed}), as a real replay runs them again.
 */
final class DryRun {
    private static final Map<String, Integer> LAUNCHES = new ConcurrentHashMap<>();
    private static final AtomicLong GEMMS = new AtomicLong();
    private static final Map<DType, AtomicLong> GEMMS_BY_DTYPE = new ConcurrentHashMap<>();

    private DryRun() {}

    /** The dry-run graph being captured (GEMMs reach the dry run without their context), or null. */
    static volatile CudaGraph capture;

    static void launched(CudaGraph capturing, Kernel k, KernelArgs args, int gx, int gy, int gz, int bx, int by, int bz, int shared) {
        String src = KernelSources.fromEnvironment().source(k.family()).text();
        k.check(KernelSignature.of(src, k.name()), args.kinds());
        if (gx < 1 || gx > Integer.MAX_VALUE || gy < 1 || gy > 65535 || gz < 1 || gz > 65535) {
            throw new CudaException("kernel " + k + ": grid " + gx + "x" + gy + "x" + gz + " is outside CUDA's limits");
        }
        if (bx < 1 || by < 1 || bz < 1 || (long) bx * by * bz > 1024) {
            throw new CudaException("kernel " + k + ": block " + bx + "x" + by + "x" + bz + " is outside CUDA's limits");
        }
        if (shared < 0 || shared > 227 * 1024) throw new CudaException("kernel " + k + ": " + shared + " bytes of shared memory");
        if (capturing != null) capturing.recorded("kernel " + k);
        else LAUNCHES.merge(k.toString(), 1, Integer::sum);
    }

    /** A replay of a dry-run graph: each recorded launch and GEMM counts once more. */
    static void replayed(java.util.List<String> ops) {
        for (String op : ops) {
            if (op.startsWith("kernel ")) {
                LAUNCHES.merge(op.substring(7), 1, Integer::sum);
            } else if (op.startsWith("gemm ")) {
                GEMMS.incrementAndGet();
                GEMMS_BY_DTYPE.computeIfAbsent(DType.valueOf(op.substring(5)), t -> new AtomicLong()).incrementAndGet();
            }
        }
    }

    static void gemm(DType dtype, int lda, int ldb, int m, int n, int k, int batches) {
        if (lda < 1 || ldb < 1 || m < 1 || n < 1 || k < 1 || batches < 1) {
            throw new CudaException("cublasGemmStridedBatchedEx: bad sizes m=" + m + " n=" + n + " k=" + k + " lda=" + lda + " ldb=" + ldb + " batch=" + batches);
        }
        CudaGraph r = refresh;
        if (r != null) throw r.illegal("a cuBLAS GEMM");
        CudaGraph g = capture;
        if (g != null) {
            g.recorded("gemm " + dtype);
            return;
        }
        GEMMS.incrementAndGet();
        GEMMS_BY_DTYPE.computeIfAbsent(dtype, t -> new AtomicLong()).incrementAndGet();
    }

    /** Fails a GEMM issued while a dry-run graph's scalars are refreshed (the real path fails in {@code CudaContext.cublas()}). */
    static volatile CudaGraph refresh;

    /** Launch counts per kernel ("family/name") so far. */
    static Map<String, Integer> launches() { return Map.copyOf(LAUNCHES); }

    static long gemms() { return GEMMS.get(); }

    /** GEMMs issued so far whose operands (and output) are {@code dtype}. */
    static long gemms(DType dtype) {
        AtomicLong n = GEMMS_BY_DTYPE.get(dtype);
        return n == null ? 0 : n.get();
    }

    /** Fake device memory: increasing 256-aligned addresses, never out of memory. */
    static final class FakeMemory implements BlockCache.Raw {
        private long next = 1L << 40;

        @Override public synchronized long malloc(long bytes) {
            long p = next;
            next += (bytes + 255) & ~255L;
            return p;
        }

        @Override public void free(long ptr) {}

        @Override public void synchronize() {}

        @Override public String deviceMemory() { return "dry run"; }
    }
}
