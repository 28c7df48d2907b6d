package dev.clipvil.backend;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CudaProbeTest {
    @TempDir
    Path root;

    @Test
    void nothingThere() throws IOException {
        Path dev = Files.createDirectory(root.resolve("dev"));
        CudaProbe.Result r = CudaProbe.probe(dev, List.of(root.resolve("lib")), root.resolve("no-cache"));
        assertFalse(r.driverFound());
        assertEquals("no NVIDIA driver found (no /dev/nvidiactl, libcuda.so.1 not on the library path)", r.describe());
    }

    @Test
    void nodesAndLibrary() throws IOException {
        Path dev = Files.createDirectory(root.resolve("dev"));
        for (String n : new String[] {"nvidiactl", "nvidia0", "nvidia1", "nvidia-uvm", "null"}) Files.createFile(dev.resolve(n));
        Path lib = Files.createDirectory(root.resolve("lib"));
        Files.createFile(lib.resolve("libcuda.so.1"));
        CudaProbe.Result r = CudaProbe.probe(dev, List.of(root.resolve("missing"), lib), root.resolve("no-cache"));
        assertTrue(r.driverFound());
        assertEquals(List.of(dev.resolve("nvidia0").toString(), dev.resolve("nvidia1").toString()), r.deviceNodes());
        assertEquals("NVIDIA driver found (/dev/nvidiactl and 2 device nodes (" + dev.resolve("nvidia0") + ", " + dev.resolve("nvidia1")
                + "), libcuda.so.1 at " + lib.resolve("libcuda.so.1") + ")", r.describe());
    }

    @Test
    void libraryFromTheLinkerCacheWithoutNodes() throws IOException {
        Path dev = Files.createDirectory(root.resolve("dev"));
        Path cache = Files.write(root.resolve("ld.so.cache"),
                "glibc-ld.so.cache1.1\0libcuda.so.1\0/usr/lib/x86_64-linux-gnu/libcuda.so.1\0libc.so.6\0".getBytes(StandardCharsets.ISO_8859_1));
        CudaProbe.Result r = CudaProbe.probe(dev, List.of(), cache);
        assertFalse(r.driverFound());
        assertEquals("NVIDIA driver incomplete (no /dev/nvidiactl, libcuda.so.1 at /usr/lib/x86_64-linux-gnu/libcuda.so.1 (ld.so cache))", r.describe());
    }

    @Test
    void realMachineProbeDoesNotThrow() {
        assertNotNull(CudaProbe.probe().describe());
    }
}
