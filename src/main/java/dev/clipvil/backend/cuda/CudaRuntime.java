package dev.clipvil.backend.cuda;

import dev.clipvil.backend.CudaProbe;
import org.bytedeco.cuda.global.cudart;

import java.util.List;

/**
 * Whether CUDA can be used in this process, decided once: an NVIDIA driver on the machine
 * ({@link CudaProbe}, no native code), the bindings loaded ({@link CudaLibraries}), {@code cuInit}
 * and at least one device. Nothing here throws: an unusable CUDA is an {@link Availability} with a reason.
 */
public final class CudaRuntime {
    /** The outcome: usable or not, how many devices, and the reason when not. */
    public record Availability(boolean available, int deviceCount, String reason, List<CudaLibraries.Status> libraries) {
        public Availability {
            libraries = List.copyOf(libraries);
        }
    }

    private static volatile Availability availability;

    private CudaRuntime() {}

    public static Availability availability() {
        Availability a = availability;
        if (a == null) {
            synchronized (CudaRuntime.class) {
                if (availability == null) availability = decide();
                a = availability;
            }
        }
        return a;
    }

    public static boolean available() { return availability().available(); }

    private static Availability decide() {
        CudaProbe.Result probe = CudaProbe.probe();
        // Without libcuda.so.1 nothing can work; with it, try even if the device nodes look absent
        // (some container runtimes expose devices differently): a failed load is only a reason.
        if (probe.libcuda().isEmpty() && System.getenv("CLIPVIL_CUDA_FORCE_LOAD") == null) {
            String why = probe.describe();
            return new Availability(false, 0, why, CudaLibraries.notTried("not tried (no NVIDIA driver)"));
        }
        List<CudaLibraries.Status> libs = CudaLibraries.load();
        if (!CudaLibraries.isLoaded("cudart")) {
            return new Availability(false, 0, "the CUDA runtime binding did not load: " + libs.get(0).detail(), libs);
        }
        try {
            int err = cudart.cuInit(0);
            if (err != 0) return new Availability(false, 0, "cuInit failed: " + CudaCheck.drvMessage(err), libs);
            int[] n = new int[1];
            err = cudart.cudaGetDeviceCount(n);
            if (err != 0) return new Availability(false, 0, "cudaGetDeviceCount failed: " + CudaCheck.rtMessage(err), libs);
            if (n[0] == 0) return new Availability(false, 0, "the driver reports no CUDA device", libs);
            return new Availability(true, n[0], "", libs);
        } catch (LinkageError e) {
            return new Availability(false, 0, "CUDA call failed to link: " + CudaLibraries.reason(e), libs);
        }
    }

    /** Fails with the reason when CUDA cannot be used; returns the device count. */
    static int requireAvailable(String what) {
        Availability a = availability();
        if (!a.available()) throw new CudaException(what + ": no usable GPU (" + a.reason() + ")");
        return a.deviceCount();
    }
}
