package dev.clipvil.backend.cuda;

import java.util.Locale;

/**
 * Which implementation runs conv2d (forward and both gradients) on a GPU: {@link #CLIPVIL}, our
 * kernels (kernels/conv.cu, {@link CudaConv}; the default), or {@link #CUDNN} ({@link CudnnConv}), so
 * that each can be measured against the other behind the same Backend interface. A process-wide
 * switch like {@link CudaBackend#allowTf32}: system property {@code clipvil.conv} or environment
 * variable {@code CLIPVIL_CONV} set the starting value, {@code clipvil train --conv} and GpuBench
 * {@code --conv} set it for their run. The CPU backend has one convolution and ignores it.
 */
public enum ConvImpl {
    CLIPVIL, CUDNN;

    private static volatile ConvImpl current = fromSettings(System.getProperty("clipvil.conv"), System.getenv("CLIPVIL_CONV"));

    /** {@code clipvil} or {@code cudnn} (any case, surrounding blanks ignored); an error naming the choices otherwise. */
    public static ConvImpl parse(String s) {
        String v = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
        switch (v) {
            case "clipvil": return CLIPVIL;
            case "cudnn": return CUDNN;
            default: throw new IllegalArgumentException("conv implementation must be clipvil or cudnn, got '" + s + "'");
        }
    }

    /**
     * The starting value: the system property, else the environment variable, else CLIPVIL. A bad
     * value is not fatal at class loading; it is reported once on standard error and ignored.
     */
    static ConvImpl fromSettings(String property, String env) {
        String v = property != null && !property.isBlank() ? property : env;
        if (v == null || v.isBlank()) return CLIPVIL;
        try {
            return parse(v);
        } catch (IllegalArgumentException e) {
            System.err.println("clipvil: ignoring " + (v == property ? "-Dclipvil.conv" : "CLIPVIL_CONV") + "=" + v + ": " + e.getMessage());
            return CLIPVIL;
        }
    }

    /** The implementation GPU convolutions use now. */
    public static ConvImpl current() { return current; }

    /** Makes {@code impl} the process-wide choice; returns the previous one (to put back). */
    public static ConvImpl use(ConvImpl impl) {
        if (impl == null) throw new IllegalArgumentException("conv implementation must not be null");
        ConvImpl before = current;
        current = impl;
        return before;
    }

    /** Uses {@code impl} until the returned scope closes, then puts the previous choice back. */
    public static Scope scoped(ConvImpl impl) { return new Scope(use(impl)); }

    /** Puts back the choice that was current when {@link #scoped} opened it. */
    public static final class Scope implements AutoCloseable {
        private final ConvImpl before;

        private Scope(ConvImpl before) { this.before = before; }

        @Override public void close() { current = before; }
    }

    /** The name used on the command line ({@code clipvil}, {@code cudnn}). */
    public String label() { return name().toLowerCase(Locale.ROOT); }

    /**
     * Null when this implementation can run on a GPU of this process, else why not (only CUDNN can be
     * missing: libcudnn not found or its binding did not load).
     */
    public String unavailableReason() {
        if (this == CLIPVIL) return null;
        for (CudaLibraries.Status s : CudaLibraries.load()) {
            if (s.name().equals("cudnn")) return s.loaded() ? null : "cuDNN is not available: " + s.detail();
        }
        return "cuDNN is not available: no binding";
    }
}
