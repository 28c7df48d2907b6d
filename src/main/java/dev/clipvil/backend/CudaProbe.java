package dev.clipvil.backend;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Looks for an NVIDIA driver without loading anything native: the device nodes ({@code /dev/nvidiactl},
 * {@code /dev/nvidiaN}) and the driver library {@code libcuda.so.1} on the library path (the
 * directories of LD_LIBRARY_PATH and java.library.path, the usual system directories, and the
 * dynamic linker's cache). It tells why CUDA cannot be used before anyone tries, and says what it
 * saw, e.g. "no NVIDIA driver found (no /dev/nvidiactl, libcuda.so.1 not on the library path)".
 */
public final class CudaProbe {
    static final String LIBRARY = "libcuda.so.1";
    private static final Pattern DEVICE_NODE = Pattern.compile("nvidia\\d+");
    private static final List<String> SYSTEM_DIRS = List.of(
            "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib64", "/lib",
            "/lib/x86_64-linux-gnu", "/usr/local/cuda/lib64", "/usr/local/cuda/compat", "/usr/lib/wsl/lib",
            "/usr/local/nvidia/lib64", "/usr/local/nvidia/lib");

    private CudaProbe() {}

    /** What the probe saw. {@code libcuda} is where the library is, or how it was found (the ld.so cache). */
    public record Result(boolean controlNode, List<String> deviceNodes, Optional<String> libcuda) {
        public Result {
            deviceNodes = List.copyOf(deviceNodes);
        }

        /** Device nodes and the driver library are both there: a CUDA backend could try to load. */
        public boolean driverFound() { return controlNode && libcuda.isPresent(); }

        /** One line saying what was found and what was not. */
        public String describe() {
            String nodes = controlNode
                    ? "/dev/nvidiactl and " + deviceNodes.size() + " device node" + (deviceNodes.size() == 1 ? "" : "s")
                            + (deviceNodes.isEmpty() ? "" : " (" + String.join(", ", deviceNodes) + ")")
                    : "no /dev/nvidiactl";
            String lib = libcuda.map(p -> LIBRARY + " at " + p).orElse(LIBRARY + " not on the library path");
            if (driverFound()) return "NVIDIA driver found (" + nodes + ", " + lib + ")";
            if (!controlNode && libcuda.isEmpty()) return "no NVIDIA driver found (" + nodes + ", " + lib + ")";
            return "NVIDIA driver incomplete (" + nodes + ", " + lib + ")";
        }
    }

    /** Probes this machine. */
    public static Result probe() {
        List<Path> dirs = new ArrayList<>();
        for (String var : new String[] {System.getenv("LD_LIBRARY_PATH"), System.getProperty("java.library.path")}) {
            if (var == null) continue;
            for (String d : var.split(File.pathSeparator)) if (!d.isBlank()) dirs.add(Path.of(d));
        }
        for (String d : SYSTEM_DIRS) dirs.add(Path.of(d));
        return probe(Path.of("/dev"), dirs, Path.of("/etc/ld.so.cache"));
    }

    /** Probes with the given device directory, library directories and linker cache (tests use fakes). */
    static Result probe(Path devDir, List<Path> libraryDirs, Path ldCache) {
        boolean ctl = Files.exists(devDir.resolve("nvidiactl"));
        List<String> nodes = new ArrayList<>();
        try (Stream<Path> s = Files.list(devDir)) {
            s.map(p -> p.getFileName().toString()).filter(n -> DEVICE_NODE.matcher(n).matches()).sorted()
                    .forEach(n -> nodes.add(devDir.resolve(n).toString()));
        } catch (IOException | SecurityException e) {
            // no readable device directory: no nodes
        }
        return new Result(ctl, nodes, findLibrary(libraryDirs, ldCache));
    }

    private static Optional<String> findLibrary(List<Path> dirs, Path ldCache) {
        Set<Path> seen = new LinkedHashSet<>(dirs);
        for (Path d : seen) {
            Path p = d.resolve(LIBRARY);
            if (Files.exists(p)) return Optional.of(p.toString());
        }
        return inLinkerCache(ldCache);
    }

    /** The path the dynamic linker's cache records for the library, if any (the cache holds it as text). */
    private static Optional<String> inLinkerCache(Path ldCache) {
        byte[] b;
        try {
            b = Files.readAllBytes(ldCache);
        } catch (IOException | SecurityException e) {
            return Optional.empty();
        }
        String s = new String(b, StandardCharsets.ISO_8859_1);
        int i = s.indexOf("/" + LIBRARY + "\0");
        if (i < 0) return Optional.empty();
        int start = s.lastIndexOf('\0', i) + 1;
        return Optional.of(s.substring(start, i + 1 + LIBRARY.length()) + " (ld.so cache)");
    }
}
