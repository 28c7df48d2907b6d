package dev.clipvil.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds kernel code: the nvcc-built fatbin of a family in the jar, and the {@code .cu} source (with the
 * {@code .cuh} headers it includes) either from a folder named by {@code CLIPVIL_KERNELS} or from the
 * jar. Pure Java, so the discovery rules are tested on the CPU.
 */
final class KernelSources {
    static final String RESOURCE_DIR = "dev/clipvil/kernels/";
    static final String ENV = "CLIPVIL_KERNELS";
    private static final Pattern INCLUDE = Pattern.compile("^\\s*#\\s*include\\s+\"([^\"]+)\"", Pattern.MULTILINE);
    private static final Pattern FLAGS = Pattern.compile("^// nvcc-flags:(.*)$", Pattern.MULTILINE);

    /** A family's source text, its included headers (name -> text), and where it came from. */
    record Source(String family, String text, Map<String, String> headers, String origin) {
        /**
         * SHA-256 (hex) of the source followed by its headers in order of first inclusion: what
         * native/build-kernels.sh writes beside each fatbin, so a fatbin built from other sources is known.
         */
        String stamp() {
            try {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                md.update(text.getBytes(StandardCharsets.UTF_8));
                for (String h : headers.values()) md.update(h.getBytes(StandardCharsets.UTF_8));
                return HexFormat.of().formatHex(md.digest());
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-256 is missing from this Java runtime", e);
            }
        }

        /** Extra compiler flags from a {@code // nvcc-flags:} line among the first lines, or "". */
        String extraFlags() {
            String head = text.lines().limit(5).reduce("", (a, b) -> a + b + "\n");
            Matcher m = FLAGS.matcher(head);
            return m.find() ? m.group(1).trim() : "";
        }
    }

    private final Path folder;

    /** {@code folder} is the source override (null: the jar's sources). */
    KernelSources(Path folder) { this.folder = folder; }

    /** From the environment: CLIPVIL_KERNELS when set and non-blank. */
    static KernelSources fromEnvironment() { return fromSetting(System.getenv(ENV)); }

    static KernelSources fromSetting(String value) {
        if (value == null || value.isBlank()) return new KernelSources(null);
        Path p = Path.of(value.trim());
        if (!Files.isDirectory(p)) throw new CudaException(ENV + "=" + value + " is not a folder of kernel sources");
        return new KernelSources(p);
    }

    /** True when sources come from a folder, which then wins over the jar's fatbins. */
    boolean overridden() { return folder != null; }

    Path folder() { return folder; }

    /** The fatbin of {@code family} shipped in the jar, or null (a build with -Dclipvil.nvcc.skip=true has none). */
    static byte[] fatbin(String family) {
        return resource(RESOURCE_DIR + family + ".fatbin");
    }

    /** The stamp build-kernels.sh wrote beside the fatbin of {@code family} (see {@link Source#stamp}), or null. */
    static String fatbinStamp(String family) {
        byte[] b = resource(RESOURCE_DIR + family + ".fatbin.sha256");
        return b == null ? null : new String(b, StandardCharsets.US_ASCII).trim();
    }

    /** The ptxas resource table build-kernels.sh wrote beside the fatbin of {@code family} (see {@link KernelResources}), or null. */
    static String resourcesText(String family) {
        byte[] b = resource(RESOURCE_DIR + family + ".resources");
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    /**
     * Null when the jar's fatbin of {@code family} was built from the sources the jar ships (its stamp
     * matches), else why it must not be used (then NVRTC compiles the shipped source instead).
     */
    String staleFatbin(String family) {
        String st = fatbinStamp(family);
        if (st == null) return "the jar's " + family + ".fatbin has no source stamp";
        String now = source(family).stamp();
        return st.equals(now) ? null : "the jar's " + family + ".fatbin was built from other sources (stamp " + st.substring(0, Math.min(12, st.length()))
                + ", sources " + now.substring(0, 12) + "; rebuild without -Dclipvil.nvcc.skip)";
    }

    /** The source of {@code family} with its headers; fails naming where it looked. */
    Source source(String family) {
        String name = family + ".cu";
        String text = read(name);
        if (text == null) throw new CudaException("kernel source " + name + " not found " + where());
        Map<String, String> headers = new LinkedHashMap<>();
        collectHeaders(text, headers);
        return new Source(family, text, headers, folder != null ? folder.resolve(name).toString() : "jar:" + RESOURCE_DIR + name);
    }

    private void collectHeaders(String text, Map<String, String> into) {
        Matcher m = INCLUDE.matcher(text);
        while (m.find()) {
            String h = m.group(1);
            if (into.containsKey(h)) continue;
            String ht = read(h);
            if (ht == null) throw new CudaException("kernel header " + h + " not found " + where());
            into.put(h, ht);
            collectHeaders(ht, into);
        }
    }

    private String where() {
        return folder != null ? "in " + ENV + "=" + folder : "among the jar's resources " + RESOURCE_DIR;
    }

    private String read(String name) {
        if (folder != null) {
            Path p = folder.resolve(name);
            if (!Files.isRegularFile(p)) return null;
            try {
                return Files.readString(p, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new CudaException("cannot read kernel source " + p + ": " + e.getMessage(), e);
            }
        }
        byte[] b = resource(RESOURCE_DIR + name);
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    private static byte[] resource(String path) {
        try (InputStream in = KernelSources.class.getClassLoader().getResourceAsStream(path)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new CudaException("cannot read resource " + path + ": " + e.getMessage(), e);
        }
    }
}
