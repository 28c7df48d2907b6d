package dev.clipvil.backend.cuda;

import org.bytedeco.cuda.cudart.CUfunc_st;

/**
 * A kernel entry point: its family (the file kernels/&lt;family&gt;.cu) and its {@code extern "C"} name.
 * The function handle is resolved once per device and kept, so a launch looks nothing up.
 * Declare kernels as constants; {@code KernelSymbolsTest} checks every constant against the sources.
 */
public final class Kernel {
    private final String family;
    private final String name;
    private final CUfunc_st[] perDevice = new CUfunc_st[64];
    private volatile boolean checked;

    private Kernel(String family, String name) {
        this.family = family;
        this.name = name;
    }

    public static Kernel of(String family, String name) { return new Kernel(family, name); }

    public String family() { return family; }
    public String name() { return name; }

    CUfunc_st function(CudaContext ctx) {
        CUfunc_st f = perDevice[ctx.index()];
        if (f == null) {
            f = ctx.modules().function(family, name);
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
