package dev.clipvil.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Library loading reports failures as reasons and never takes the JVM down. */
class CudaLibrariesTest {
    @Test
    void failuresBecomeReasons() {
        List<CudaLibraries.Status> s = CudaLibraries.load(cls -> {
            if (cls.endsWith("cudart")) throw new UnsatisfiedLinkError("libcuda.so.1: cannot open shared object file: No such file or directory");
            if (cls.endsWith("cublas")) throw new ExceptionInInitializerError(new UnsatisfiedLinkError("no jnicublas in java.library.path"));
            if (cls.endsWith("nvrtc")) throw new NoClassDefFoundError("Could not initialize class org.bytedeco.cuda.global.nvrtc");
            return "/tmp/libjnicudnn.so";
        });
        assertEquals(4, s.size());
        assertFalse(s.get(0).loaded());
        assertTrue(s.get(0).detail().contains("libcuda.so.1: cannot open shared object file"), s.get(0).detail());
        assertTrue(s.get(0).detail().startsWith("UnsatisfiedLinkError"), s.get(0).detail());
        assertFalse(s.get(1).loaded());
        assertTrue(s.get(1).detail().contains("no jnicublas"), s.get(1).detail());
        assertFalse(s.get(2).loaded());
        assertTrue(s.get(2).detail().contains("NoClassDefFoundError"), s.get(2).detail());
        assertTrue(s.get(3).loaded());
        assertEquals("/tmp/libjnicudnn.so", s.get(3).detail());
        assertTrue(s.get(0).describe().startsWith("cudart (CUDA runtime and driver API): not loaded: "), s.get(0).describe());
    }

    @Test
    void longReasonsAreCut() {
        String msg = "x".repeat(1000);
        List<CudaLibraries.Status> s = CudaLibraries.load(cls -> { throw new UnsatisfiedLinkError(msg); });
        for (CudaLibraries.Status st : s) assertTrue(st.detail().length() <= 400, st.detail());
    }

    @Test
    void realLoadingOnThisMachineDoesNotCrash() {
        // really asks JavaCPP (on a GPU host this loads; here it fails with a reason)
        List<CudaLibraries.Status> s = CudaLibraries.load();
        assertEquals(4, s.size());
        for (CudaLibraries.Status st : s) assertFalse(st.detail().isBlank(), st.describe());
        CudaRuntime.Availability a = CudaRuntime.availability();
        if (!a.available()) assertFalse(a.reason().isBlank());
        else assertTrue(a.deviceCount() > 0);
    }
}
