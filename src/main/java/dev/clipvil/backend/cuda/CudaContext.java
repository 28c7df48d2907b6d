package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.Device;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUctx_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;

/**
 * One GPU as the engine uses it: its primary context (made current on every thread that issues work,
 * {@link #makeCurrent()}), one stream on which all its work is ordered, its memory, its kernel modules,
 * a pinned staging buffer, a cuBLAS handle and cuBLASLt's state. Created once per device and kept for the process.
 */
public final class CudaContext {
    private static final CudaContext[] CONTEXTS = new CudaContext[64];
    private static final ThreadLocal<CudaContext> CURRENT = new ThreadLocal<>();

    private final boolean dryRun;
    private final int index;
    private final Device device;
    private final CUctx_st ctx = new CUctx_st();
    private final CUstream_st stream = new CUstream_st();
    private final String name;
    private final int ccMajor;
    private final int ccMinor;
    private final int smCount;
    private final CudaMemory memory;
    private final CudaModules modules;
    private final IndexFaults indexFaults;
    private PinnedStaging staging;
    private cublasContext blas;
    private CudaLt lt;
    /** cuBLAS's workspace: set explicitly, so that a GEMM captured in a CUDA graph never allocates one. */
    static final long CUBLAS_WORKSPACE = 32L << 20;
    private final RawPointer blasWorkspace = new RawPointer();
    /** The graph being captured on this device's stream, or null. */
    private volatile CudaGraph capturing;
    /** The graph whose per-step scalars are being refreshed, or null. */
    private volatile CudaGraph refreshing;

    /** The context of device {@code index}, created on first use; fails with the reason when there is no such GPU. */
    public static CudaContext get(int index) {
        if (index >= 0 && index < CONTEXTS.length) {
            synchronized (CONTEXTS) {
                if (CONTEXTS[index] != null) return CONTEXTS[index];
            }
        }
        int n = CudaRuntime.requireAvailable("cuda:" + index);
        if (index < 0 || index >= n) throw new CudaException("cuda:" + index + ": no such device (" + n + " CUDA device" + (n == 1 ? "" : "s") + ")");
        synchronized (CONTEXTS) {
            if (CONTEXTS[index] == null) {
                CONTEXTS[index] = new CudaContext(index);
                dev.clipvil.tensor.Storage.registerAllocator(Device.Kind.CUDA, CudaStorage::allocateOn);
            }
            return CONTEXTS[index];
        }
    }

    /**
     * A context with no GPU behind it, for checking the Java side on the CPU: device memory is fake
     * addresses, launches check their packed arguments against the kernel sources and record them
     * instead of running, cuBLAS calls and copies are skipped (host copies read zeros). Installed at
     * {@code index} (tests use a high index, so that a real cuda:0 is never shadowed).
     */
    static CudaContext installDryRun(int index) {
        synchronized (CONTEXTS) {
            if (CONTEXTS[index] == null) {
                CONTEXTS[index] = new CudaContext(index, true);
                dev.clipvil.tensor.Storage.registerAllocator(Device.Kind.CUDA, CudaStorage::allocateOn);
            }
            if (!CONTEXTS[index].dryRun) throw new IllegalStateException("cuda:" + index + " is a real device");
            return CONTEXTS[index];
        }
    }

    private CudaContext(int index, boolean dryRun) {
        this.dryRun = dryRun;
        this.index = index;
        this.device = Device.cuda(index);
        this.name = "dry run (no GPU)";
        this.ccMajor = 9;
        this.ccMinor = 0;
        this.smCount = 132;
        this.memory = new CudaMemory(this, new DryRun.FakeMemory());
        this.modules = new CudaModules(this);
        this.indexFaults = new IndexFaults(this, true);
    }

    /** True for a context with no GPU behind it ({@link #installDryRun}). */
    boolean dryRun() { return dryRun; }

    private CudaContext(int index) {
        this.dryRun = false;
        this.index = index;
        this.device = Device.cuda(index);
        int[] dev = new int[1];
        CudaCheck.drv(cudart.cuDeviceGet(dev, index), "cuDeviceGet(" + index + ")");
        CudaCheck.drv(cudart.cuDevicePrimaryCtxRetain(ctx, dev[0]), "cuDevicePrimaryCtxRetain(" + device + ")");
        CudaCheck.drv(cudart.cuCtxSetCurrent(ctx), "cuCtxSetCurrent(" + device + ")");
        CudaCheck.rt(cudart.cudaSetDevice(index), "cudaSetDevice(" + index + ")");
        CURRENT.set(this);
        CudaCheck.rt(cudart.cudaStreamCreateWithFlags(stream, cudart.cudaStreamNonBlocking), "cudaStreamCreateWithFlags(" + device + ")");
        int[] v = new int[1];
        CudaCheck.rt(cudart.cudaDeviceGetAttribute(v, cudart.cudaDevAttrComputeCapabilityMajor, index), "cudaDeviceGetAttribute(major)");
        ccMajor = v[0];
        CudaCheck.rt(cudart.cudaDeviceGetAttribute(v, cudart.cudaDevAttrComputeCapabilityMinor, index), "cudaDeviceGetAttribute(minor)");
        ccMinor = v[0];
        CudaCheck.rt(cudart.cudaDeviceGetAttribute(v, cudart.cudaDevAttrMultiProcessorCount, index), "cudaDeviceGetAttribute(multiprocessors)");
        smCount = v[0];
        byte[] nm = new byte[256];
        CudaCheck.drv(cudart.cuDeviceGetName(nm, nm.length, dev[0]), "cuDeviceGetName");
        int len = 0;
        while (len < nm.length && nm[len] != 0) len++;
        name = new String(nm, 0, len, java.nio.charset.StandardCharsets.UTF_8);
        memory = new CudaMemory(this);
        modules = new CudaModules(this);
        indexFaults = new IndexFaults(this, false);
    }

    public int index() { return index; }
    public Device device() { return device; }
    public String name() { return name; }
    public int ccMajor() { return ccMajor; }
    public int ccMinor() { return ccMinor; }
    public int smCount() { return smCount; }
    public CudaMemory memory() { return memory; }
    public CudaModules modules() { return modules; }
    CUstream_st stream() { return stream; }

    /** Where this device's index checks record an out-of-range index (reported by {@link #synchronize}). */
    IndexFaults indexFaults() { return indexFaults; }

    synchronized PinnedStaging staging() {
        if (staging == null) staging = new PinnedStaging(this);
        return staging;
    }

    /** The cuBLAS handle of this device, bound to its stream (created on first use). */
    synchronized cublasContext cublas() {
        CudaGraph r = refreshing;
        if (r != null) throw r.illegal("a cuBLAS GEMM");
        if (blas == null) {
            if (capturing != null) throw capturing.illegal("creating the cuBLAS handle (run one step eagerly before capturing)");
            if (!CudaLibraries.isLoaded("cublas")) {
                throw new CudaException("cuBLAS is not available: " + CudaLibraries.load().get(1).detail());
            }
            makeCurrent();
            cublasContext h = new cublasContext();
            CudaCheck.blas(cublas.cublasCreate_v2(h), "cublasCreate");
            CudaCheck.blas(cublas.cublasSetStream_v2(h, stream), "cublasSetStream");
            // Without a workspace of its own cuBLAS would allocate one inside a captured graph.
            CudaCheck.rt(cudart.cudaMalloc(blasWorkspace, CUBLAS_WORKSPACE), "cudaMalloc(" + CUBLAS_WORKSPACE + " bytes) for cuBLAS's workspace on " + device);
            CudaCheck.blas(cublas.cublasSetWorkspace_v2(h, blasWorkspace, CUBLAS_WORKSPACE), "cublasSetWorkspace");
            blas = h;
        }
        return blas;
    }

    /** The cuBLASLt state of this device (handle, workspace, plan cache; see {@link CudaLt}), created on first use. */
    synchronized CudaLt lt() {
        CudaGraph r = refreshing;
        if (r != null) throw r.illegal("a cuBLASLt GEMM");
        if (lt == null) {
            // the handle and its workspace come from outside any graph (a warm-up step makes them)
            if (capturing != null) throw capturing.illegal("creating the cuBLASLt handle (run one step eagerly before capturing)");
            if (!CudaLibraries.isLoaded("cublas")) {
                throw new CudaException("cuBLASLt is not available: " + CudaLibraries.load().get(1).detail());
            }
            lt = new CudaLt(this);
        }
        return lt;
    }

    /** Makes this device's primary context current on the calling thread (a no-op when it already is). */
    public void makeCurrent() {
        if (dryRun || CURRENT.get() == this) return;
        CudaCheck.drv(cudart.cuCtxSetCurrent(ctx), "cuCtxSetCurrent(" + device + ")");
        CudaCheck.rt(cudart.cudaSetDevice(index), "cudaSetDevice(" + index + ")");
        CURRENT.set(this);
    }

    /**
     * Waits for all work queued on this device's stream; reports an asynchronous error of earlier work,
     * and an out-of-range index that a device-side check of earlier work found ({@link IndexFaults}).
     */
    public void synchronize() {
        requireNotCapturing("a host synchronisation (cudaStreamSynchronize: reading a result on the host, a blocking copy)");
        if (dryRun) return;
        makeCurrent();
        indexFaults.beforeSync();
        CudaCheck.rt(cudart.cudaStreamSynchronize(stream), "cudaStreamSynchronize(" + device + ") (an earlier kernel or copy failed)");
        indexFaults.afterSync();
    }

    /** The graph being captured on this device's stream, or null. */
    CudaGraph capturing() { return capturing; }

    /** The graph whose scalars are being refreshed before a replay, or null. */
    CudaGraph refreshing() { return refreshing; }

    void setCapturing(CudaGraph g) { capturing = g; }

    void setRefreshing(CudaGraph g) { refreshing = g; }

    /** Fails, naming {@code what}, while a CUDA graph is captured or refreshed on this device. */
    void requireNotCapturing(String what) {
        CudaGraph g = capturing;
        if (g != null) throw g.illegal(what);
        g = refreshing;
        if (g != null) throw g.illegal(what);
    }

    /** A stream-ordered timer for this device. */
    public CudaTimer timer() { return new CudaTimer(this); }

    @Override
    public String toString() {
        return device + " " + name + " (sm_" + ccMajor + ccMinor + ", " + smCount + " SMs)";
    }
}
