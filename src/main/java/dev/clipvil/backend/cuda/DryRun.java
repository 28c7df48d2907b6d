package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.DType;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bookkeeping of a dry-run context ({@link CudaContext#installDryRun}): every launch's packed
 * arguments are checked against the kernel's parameters in its source (each time, not once) and its
 * launch configuration against CUDA's limits (dynamic shared memory at most 227 KB, the H100/H200
 * per-block opt-in maximum; {@link KernelLaunch} has already checked it against what the kernel opts
 * in to), then counted per kernel. Nothing runs. While a graph is captured on a dry-run context,
 * launches and GEMMs are recorded by the graph instead of counted; each replay counts them again
 * ({@link #replayed}), as a real replay runs them again.
 */
final class DryRun {
    private static final Map<String, Integer> LAUNCHES = new ConcurrentHashMap<>();
    private static final AtomicLong GEMMS = new AtomicLong();
    private static final Map<String, Integer> CUDNN = new ConcurrentHashMap<>();
    private static final Map<DType, AtomicLong> GEMMS_BY_DTYPE = new ConcurrentHashMap<>();
    private static final AtomicLong BIAS_EPILOGUES = new AtomicLong();
    private static final AtomicLong MIXED_GEMMS = new AtomicLong();

    private DryRun() {}

    /** The dry-run graph being captured (GEMMs reach the dry run without their context), or null. */
    static volatile CudaGraph capture;

    /** Each kernel's declared parameter kinds, read from its source once (the sources do not change while a process runs). */
    private static final Map<String, String> SIGNATURES = new ConcurrentHashMap<>();
    private static final String NO_ENTRY = "\u0000none";

    static void launched(CudaGraph capturing, Kernel k, KernelArgs args, int gx, int gy, int gz, int bx, int by, int bz, int shared) {
        String expected = SIGNATURES.computeIfAbsent(k.toString(), key -> {
            String sig = KernelSignature.of(KernelSources.fromEnvironment().source(k.family()).text(), k.name());
            return sig == null ? NO_ENTRY : sig;
        });
        k.check(expected.equals(NO_ENTRY) ? null : expected, args.kinds());
        if (gx < 1 || gx > Integer.MAX_VALUE || gy < 1 || gy > 65535 || gz < 1 || gz > 65535) {
            throw new CudaException("kernel " + k + ": grid " + gx + "x" + gy + "x" + gz + " is outside CUDA's limits");
        }
        if (bx < 1 || by < 1 || bz < 1 || (long) bx * by * bz > 1024) {
            throw new CudaException("kernel " + k + ": block " + bx + "x" + by + "x" + bz + " is outside CUDA's limits");
        }
        if (shared < 0 || shared > 227 * 1024) throw new CudaException("kernel " + k + ": " + shared + " bytes of shared memory");
        String tooBig = KernelResources.launchProblem(k, KernelResources.of(k.family()), bx * by * bz, shared);
        if (tooBig != null) throw new CudaException("kernel " + k + ": launch would fail on a GPU: " + tooBig);
        if (capturing != null) capturing.recorded("kernel " + k);
        else LAUNCHES.merge(k.toString(), 1, Integer::sum);
    }

    /** A replay of a dry-run graph: each recorded launch and GEMM counts once more. */
    static void replayed(java.util.List<String> ops) {
        for (String op : ops) {
            if (op.startsWith("kernel ")) {
                LAUNCHES.merge(op.substring(7), 1, Integer::sum);
            } else if (op.startsWith("gemm ")) {
                String[] types = op.substring(5).split("->");
                GEMMS.incrementAndGet();
                GEMMS_BY_DTYPE.computeIfAbsent(DType.valueOf(types[0]), t -> new AtomicLong()).incrementAndGet();
                if (types.length > 1) MIXED_GEMMS.incrementAndGet();
            }
        }
    }

    /**
     * A GEMM as cuBLASLt ({@code viaLt}) or the cublasGemmStridedBatchedEx fallback would take it: its
     * sizes and leading dimensions are checked ({@link GemmProblem#check}), then it is counted per dtype,
     * and a bias added in cuBLASLt's epilogue (no broadcast copy into C) is counted too, as is a
     * mixed-output GEMM (BF16/F16 operands writing F32).
     */
    static void gemm(GemmProblem p, boolean viaLt) {
        String bad = p.check();
        if (bad != null) throw new CudaException((viaLt ? "cublasLtMatmul(" : "cublasGemmStridedBatchedEx(") + p + "): bad sizes: " + bad);
        CudaGraph r = refresh;
        if (r != null) throw r.illegal("a cuBLAS GEMM");
        CudaGraph g = capture;
        if (g != null) {
            g.recorded("gemm " + p.dtype() + (p.mixed() ? "->" + p.out() : ""));
            return;
        }
        GEMMS.incrementAndGet();
        GEMMS_BY_DTYPE.computeIfAbsent(p.dtype(), t -> new AtomicLong()).incrementAndGet();
        if (viaLt && p.bias()) BIAS_EPILOGUES.incrementAndGet();
        if (p.mixed()) MIXED_GEMMS.incrementAndGet();
    }

    /**
     * A cuDNN convolution call ({@code cudnnConvolutionForward/BackwardData/BackwardFilter}) that did
     * not run: its shapes must be a valid convolution (4-D, positive, channels and groups consistent,
     * y's size the convolution arithmetic's) and its device addresses non-null and element-aligned;
     * counted per "call dtype layout".
     */
    static void cudnn(String call, DType dtype, boolean nhwc, int[] x, int[] w, int[] y, dev.clipvil.backend.Conv2dParams p, long... addresses) {
        String what = call + "(" + dtype + (nhwc ? " NHWC" : " NCHW") + " x " + java.util.Arrays.toString(x) + " w " + java.util.Arrays.toString(w)
                + " y " + java.util.Arrays.toString(y) + " " + p + ")";
        if (x.length != 4 || w.length != 4 || y.length != 4) throw new CudaException(what + ": descriptors must be 4-D");
        for (int i = 0; i < 4; i++) {
            if (x[i] < 1 || w[i] < 1 || y[i] < 1) throw new CudaException(what + ": empty dimension");
        }
        int g = p.groups();
        if (x[1] != w[1] * g || w[0] % g != 0) throw new CudaException(what + ": channels do not fit " + g + " group(s)");
        int oh = (x[2] + 2 * p.padH() - p.dilationH() * (w[2] - 1) - 1) / p.strideH() + 1;
        int ow = (x[3] + 2 * p.padW() - p.dilationW() * (w[3] - 1) - 1) / p.strideW() + 1;
        if (y[0] != x[0] || y[1] != w[0] || y[2] != oh || y[3] != ow) {
            throw new CudaException(what + ": y must be [" + x[0] + ", " + w[0] + ", " + oh + ", " + ow + "]");
        }
        if (dtype != DType.F32 && dtype != DType.BF16) throw new CudaException(what + ": cuDNN is used for F32 and BF16 only");
        if (nhwc != (dtype == DType.BF16)) throw new CudaException(what + ": F32 runs NCHW, BF16 NHWC");
        for (long a : addresses) {
            if (a == 0 || a % dtype.byteSize() != 0) throw new CudaException(what + ": bad device address " + a);
        }
        CUDNN.merge(call + " " + dtype + (nhwc ? " NHWC" : " NCHW"), 1, Integer::sum);
    }

    /** cuDNN calls counted so far, per "call dtype layout" (e.g. "cudnnConvolutionForward BF16 NHWC"). */
    static Map<String, Integer> cudnnCalls() { return Map.copyOf(CUDNN); }

    /** Fails a GEMM issued while a dry-run graph's scalars are refreshed (the real path fails in {@code CudaContext.cublas()}). */
    static volatile CudaGraph refresh;

    private static final AtomicLong COPY_BYTES = new AtomicLong(), CAST_BYTES = new AtomicLong();

    /**
     * A device-to-device copy or cast kernel issued eagerly: its traffic, counted as destination
     * elements x (source + destination element size) (an upper bound for a broadcast source).
     */
    static void copied(DType src, DType dst, long elements) {
        long b = elements * (src.byteSize() + dst.byteSize());
        COPY_BYTES.addAndGet(b);
        if (src != dst) CAST_BYTES.addAndGet(b);
    }

    /** Bytes moved by copy and cast kernels so far (see {@link #copied}). */
    static long copyBytes() { return COPY_BYTES.get(); }

    /** The part of {@link #copyBytes} moved by dtype conversions. */
    static long castBytes() { return CAST_BYTES.get(); }

    /** Launch counts per kernel ("family/name") so far. */
    static Map<String, Integer> launches() { return Map.copyOf(LAUNCHES); }

    static long gemms() { return GEMMS.get(); }

    /** GEMMs issued so far whose operands (and output) are {@code dtype}. */
    static long gemms(DType dtype) {
        AtomicLong n = GEMMS_BY_DTYPE.get(dtype);
        return n == null ? 0 : n.get();
    }

    /** GEMMs so far with BF16/F16 operands and an F32 output written directly (no widening pass). */
    static long mixedGemms() { return MIXED_GEMMS.get(); }

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
