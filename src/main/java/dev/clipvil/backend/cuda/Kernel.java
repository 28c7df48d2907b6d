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

    @Override
    public String toString() { return family + "/" + name; }
}
