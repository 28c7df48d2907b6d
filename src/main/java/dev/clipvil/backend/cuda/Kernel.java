package dev.clipvil.backend.cuda;

import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.global.cudart;

/**
 * A kernel entry point: its family (the file kernels/&lt;family&gt;.cu) and its {@code extern "C"} name.
 * The function handle is resolved once per device and kept, so a launch looks nothing up.
 * Declare kernels as constants; {@code KernelSymbolsTest} checks every constant against the sources.
 *
 * <p>A kernel whose launches take more than {@link #DEFAULT_DYNAMIC_SHARED} bytes of dynamic shared
 * memory ({@code extern __shared__}) is declared with {@link #withDynamicShared}: when its function is
 * first resolved on a device, {@code CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES} is raised to that
 * size (the opt-in CUDA requires above 48 KB), once per function and device.
 */
public final class Kernel {
    /** Dynamic shared memory a launch may take without the per-function opt-in. */
    public static final int DEFAULT_DYNAMIC_SHARED = 48 * 1024;

    private final String family;
    private final String name;
    private final int maxDynamicShared;
    private final CUfunc_st[] perDevice = new CUfunc_st[64];
    private volatile boolean checked;

    private Kernel(String family, String name, int maxDynamicShared) {
        this.family = family;
        this.name = name;
        this.maxDynamicShared = maxDynamicShared;
    }

    public static Kernel of(String family, String name) { return new Kernel(family, name, DEFAULT_DYNAMIC_SHARED); }

    /** A kernel launched with up to {@code bytes} of dynamic shared memory (the function opts in to it when above 48 KB). */
    public static Kernel withDynamicShared(String family, String name, int bytes) {
        if (bytes < 0) throw new IllegalArgumentException("kernel " + family + "/" + name + ": negative shared memory " + bytes);
        return new Kernel(family, name, Math.max(bytes, DEFAULT_DYNAMIC_SHARED));
    }

    public String family() { return family; }
    public String name() { return name; }

    /** The most dynamic shared memory a launch of this kernel may ask for (48 KB unless declared larger). */
    public int maxDynamicShared() { return maxDynamicShared; }

    CUfunc_st function(CudaContext ctx) {
        CUfunc_st f = perDevice[ctx.index()];
        if (f == null) {
            f = ctx.modules().function(family, name);
            if (maxDynamicShared > DEFAULT_DYNAMIC_SHARED) {
                int err = cudart.cuFuncSetAttribute(f, cudart.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, maxDynamicShared);
                if (err != 0) {
                    throw new CudaException("cuFuncSetAttribute(" + this + ", MAX_DYNAMIC_SHARED_SIZE_BYTES, " + maxDynamicShared + ") on "
                            + ctx.device() + " failed: " + CudaCheck.drvMessage(err) + " (the device allows less shared memory per block)");
                }
            }
            perDevice[ctx.index()] = f;
        }
        return f;
    }

    /**
     * On the first launch only: the packed argument kinds must match the entry point's parameters in
     * its source (when the source can be read). A mismatch is a bug on the Java side, reported plainly.
     */
    void checkOnce(KernelArgs args) {
        if (checked) return;
        String src;
        try {
            src = KernelSources.fromEnvironment().source(family).text();
        } catch (CudaException e) {
            checked = true; // no readable source (a fatbin-only build): nothing to check against
            return;
        }
        check(KernelSignature.of(src, name), args.kinds());
        checked = true;
    }

    void check(String expected, String packed) {
        if (expected == null) throw new CudaException("kernel " + this + ": no extern \"C\" __global__ entry point of that name in " + family + ".cu");
        if (!expected.equals(packed)) {
            throw new CudaException("kernel " + this + ": the Java side packs arguments (" + packed + ") but the source declares (" + expected
                    + "); p pointer, i int, l long long, f float, d double, g Geom");
        }
    }

    @Override
    public String toString() { return family + "/" + name; }
}
