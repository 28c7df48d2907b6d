package dev.clipvil.backend.cuda;

import java.util.ArrayList;
import java.util.List;

/**
 * Loads the JavaCPP bindings of the CUDA libraries the engine uses (runtime + driver API, cuBLAS and
 * cuBLASLt, NVRTC, cuDNN) and records, for each, whether it loaded and why not. Loading never takes
 * the JVM down: a missing library surfaces as {@link UnsatisfiedLinkError}, a failed static
 * initialiser as {@link ExceptionInInitializerError} or {@link NoClassDefFoundError}; all are caught
 * and kept as the reason. The libraries themselves come from the system (LD_LIBRARY_PATH).
 */
public final class CudaLibraries {
    /** What one binding is, and what loading it gave. {@code detail} is the loaded path or the reason it failed. */
    public record Status(String name, String provides, boolean loaded, String detail) {
        public String describe() { return name + " (" + provides + "): " + (loaded ? "loaded" : "not loaded: " + detail); }
    }

    /** Loads one binding by its JavaCPP class name; returns the path of what was loaded. */
    @FunctionalInterface
    interface BindingLoader {
        String load(String className) throws Throwable;
    }

    record Binding(String name, String provides, String className) {}

    static final List<Binding> BINDINGS = List.of(
            new Binding("cudart", "CUDA runtime and driver API", "org.bytedeco.cuda.global.cudart"),
            new Binding("cublas", "cuBLAS and cuBLASLt", "org.bytedeco.cuda.global.cublas"),
            new Binding("nvrtc", "NVRTC run-time compiler", "org.bytedeco.cuda.global.nvrtc"),
            new Binding("cudnn", "cuDNN", "org.bytedeco.cuda.global.cudnn"));

    private static volatile List<Status> loaded;

    private CudaLibraries() {}

    /** Loads every binding once (later calls return the first result). */
    public static List<Status> load() {
        List<Status> s = loaded;
        if (s == null) {
            synchronized (CudaLibraries.class) {
                if (loaded == null) loaded = load(CudaLibraries::javacppLoad);
                s = loaded;
            }
        }
        return s;
    }

    /** The status of one binding after {@link #load()}. */
    public static boolean isLoaded(String name) {
        for (Status s : load()) if (s.name().equals(name)) return s.loaded();
        return false;
    }

    /**
     * cuDNN's version as "9.14.0 (the binding was built for 9.19.0)", read with {@code cudnnGetVersion}
     * (major * 10000 + minor * 100 + patch since cuDNN 9); null when cuDNN did not load.
     */
    public static String cudnnVersion() {
        if (!isLoaded("cudnn")) return null;
        try {
            return versionString(org.bytedeco.cuda.global.cudnn.cudnnGetVersion()) + " (the binding was built for "
                    + versionString(org.bytedeco.cuda.global.cudnn.CUDNN_VERSION) + ")";
        } catch (LinkageError e) {
            return "unknown (" + reason(e) + ")";
        }
    }

    /** A cuDNN 9 version number (91400) as text (9.14.0). */
    static String versionString(long v) {
        return (v / 10000) + "." + (v / 100 % 100) + "." + (v % 100);
    }

    static List<Status> load(BindingLoader loader) {
        List<Status> out = new ArrayList<>();
        for (Binding b : BINDINGS) {
            try {
                String path = loader.load(b.className());
                out.add(new Status(b.name(), b.provides(), true, path == null ? "loaded" : path));
            } catch (Throwable t) {
                if (t instanceof VirtualMachineError && !(t instanceof OutOfMemoryError)) throw (VirtualMachineError) t;
                out.add(new Status(b.name(), b.provides(), false, reason(t)));
            }
        }
        return List.copyOf(out);
    }

    /** Statuses for when loading is not even tried (no driver on this machine). */
    static List<Status> notTried(String why) {
        List<Status> out = new ArrayList<>();
        for (Binding b : BINDINGS) out.add(new Status(b.name(), b.provides(), false, why));
        return List.copyOf(out);
    }

    private static String javacppLoad(String className) throws Throwable {
        Class<?> c = Class.forName(className, true, CudaLibraries.class.getClassLoader());
        return org.bytedeco.javacpp.Loader.load(c);
    }

    /** The innermost useful message of a loading failure, on one line, at most 400 characters. */
    static String reason(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        String kind = root.getClass().getSimpleName();
        String msg = root.getMessage();
        if (msg == null && t.getMessage() != null) msg = t.getMessage();
        String s = kind + (msg == null ? "" : ": " + msg.replace('\n', ' ').trim());
        if (root != t && !(t instanceof ExceptionInInitializerError) && root.getClass() != t.getClass()) s = t.getClass().getSimpleName() + " <- " + s;
        return s.length() > 400 ? s.substring(0, 397) + "..." : s;
    }
}
