package dev.clipvil.backend.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A fatbin is used only when it was built from the sources shipped beside it: the stamp that
 * native/build-kernels.sh writes (sha256sum of the .cu followed by its headers) and the one the engine
 * computes ({@link KernelSources.Source#stamp}) agree, every fatbin of this build carries a matching
 * stamp, and an edited source makes the fatbin stale.
 */
class KernelStampTest {
    /** The stamp as the build script computes it: the .cu and its headers through sha256sum. */
    private static String shellStamp(String family, List<String> headers) throws IOException, InterruptedException {
        Path dir = KernelSymbolsTest.kernelsDir();
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", "cat \"$@\" | sha256sum | cut -c1-64", "stamp", dir.resolve(family + ".cu").toString()));
        for (String h : headers) cmd.add(dir.resolve(h).toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    @Test
    void theEngineComputesTheBuildScriptsStamp() throws Exception {
        KernelSources jar = new KernelSources(null);
        for (String family : KernelSymbolsTest.families()) {
            KernelSources.Source s = jar.source(family);
            assertEquals(shellStamp(family, new ArrayList<>(s.headers().keySet())), s.stamp(), family);
        }
    }

    /**
     * Every fatbin nvcc made after the last edit of its sources carries their stamp. (A fatbin older
     * than its .cu or a header is left over from an earlier build with -Dclipvil.nvcc.skip=true: the
     * engine refuses it at run time, which {@link #anEditedSourceMakesTheFatbinStale} checks.)
     */
    @Test
    void everyFatbinOfThisBuildMatchesItsSources() throws Exception {
        KernelSources jar = new KernelSources(null);
        Path dir = KernelSymbolsTest.kernelsDir();
        Path classes = Path.of(Kernel.class.getProtectionDomain().getCodeSource().getLocation().toURI()).resolve(KernelSources.RESOURCE_DIR);
        List<String> built = new ArrayList<>();
        for (String family : KernelSymbolsTest.families()) {
            Path fb = classes.resolve(family + ".fatbin");
            if (!Files.isRegularFile(fb)) continue;
            long t = Files.getLastModifiedTime(fb).toMillis();
            boolean fresh = Files.getLastModifiedTime(dir.resolve(family + ".cu")).toMillis() <= t;
            for (String h : jar.source(family).headers().keySet()) fresh &= Files.getLastModifiedTime(dir.resolve(h)).toMillis() <= t;
            if (fresh) built.add(family);
        }
        if (built.isEmpty()) {
            System.out.println("SKIPPED KernelStampTest.everyFatbinOfThisBuildMatchesItsSources: no fatbin built since the last kernel edit "
                    + "(built with -Dclipvil.nvcc.skip=true)");
            Assumptions.abort("no fresh fatbins in this build");
        }
        for (String family : built) assertNull(jar.staleFatbin(family), family);
    }

    @Test
    void anEditedSourceMakesTheFatbinStale(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
        Assumptions.assumeTrue(KernelSources.fatbinStamp("cast") != null, "no stamped cast.fatbin in this build");
        Path dir = KernelSymbolsTest.kernelsDir();
        Files.writeString(tmp.resolve("cast.cu"), Files.readString(dir.resolve("cast.cu")) + "\n// edited\n");
        Files.copy(dir.resolve("common.cuh"), tmp.resolve("common.cuh"));
        String why = new KernelSources(tmp).staleFatbin("cast");
        assertNotNull(why);
        assertTrue(why.contains("cast.fatbin was built from other sources"), why);
    }
}
