package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.DType;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bookkeeping of a dry-run context ({@link CudaContext#installDryRun}): every launch's packed
 * arguments are checked against the kernel's parameters in its source (each time, not once) and its
 * launch configuration against CUDA's limits, then counted per kernel. Nothing runs.
 */
final class DryRun {
    private static final Map<String, Integer> LAUNCHES = new ConcurrentHashMap<>();
    private static final AtomicLong GEMMS = new AtomicLong();
    private static final Map<DType, AtomicLong> GEMMS_BY_DTYPE = new ConcurrentHashMap<>();
    private static final AtomicLong BIAS_EPILOGUES = new AtomicLong();

    private DryRun() {}

    static void launched(Kernel k, KernelArgs args, int gx, int gy, int gz, int bx, int by, int bz, int shared) {
        String src = KernelSources.fromEnvironment().source(k.family()).text();
        k.check(KernelSignature.of(src, k.name()), args.kinds());
        if (gx < 1 || gx > Integer.MAX_VALUE || gy < 1 || gy > 65535 || gz < 1 || gz > 65535) {
            throw new CudaException("kernel " + k + ": grid " + gx + "x" + gy + "x" + gz + " is outside CUDA's limits");
        }
        if (bx < 1 || by < 1 || bz < 1 || (long) bx * by * bz > 1024) {
            throw new CudaException("kernel " + k + ": block " + bx + "x" + by + "x" + bz + " is outside CUDA's limits");
        }
        if (shared < 0 || shared > 227 * 1024) throw new CudaException("kernel " + k + ": " + shared + " bytes of shared memory");
        LAUNCHES.merge(k.toString(), 1, Integer::sum);
    }

    /**
     * A GEMM as cuBLASLt ({@code viaLt}) or the cublasGemmStridedBatchedEx fallback would take it: its
     * sizes and leading dimensions are checked ({@link GemmProblem#check}), then it is counted per dtype,
     * and a bias added in cuBLASLt's epilogue (no broadcast copy into C) is counted too.
     */
    static void gemm(GemmProblem p, boolean viaLt) {
        String bad = p.check();
        if (bad != null) throw new CudaException((viaLt ? "cublasLtMatmul(" : "cublasGemmStridedBatchedEx(") + p + "): bad sizes: " + bad);
        GEMMS.incrementAndGet();
        GEMMS_BY_DTYPE.computeIfAbsent(p.dtype(), t -> new AtomicLong()).incrementAndGet();
        if (viaLt && p.bias()) BIAS_EPILOGUES.incrementAndGet();
    }

    /** Launch counts per kernel ("family/name") so far. */
    static Map<String, Integer> launches() { return Map.copyOf(LAUNCHES); }

    static long gemms() { return GEMMS.get(); }

    /** GEMMs issued so far whose operands (and output) are {@code dtype}. */
    static long gemms(DType dtype) {
        AtomicLong n = GEMMS_BY_DTYPE.get(dtype);
        return n == null ? 0 : n.get();
    }

    /** GEMMs so far whose bias went through cuBLASLt's bias epilogue. */
    static long biasEpilogues() { return BIAS_EPILOGUES.get(); }

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
