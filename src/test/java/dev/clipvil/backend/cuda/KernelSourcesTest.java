package dev.clipvil.backend.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Where NVRTC's sources come from: a CLIPVIL_KERNELS folder (with its headers) or the jar. */
class KernelSourcesTest {
    @TempDir
    Path dir;

    @Test
    void aFolderOverridesTheJarAndBringsItsHeaders() throws IOException {
        Files.writeString(dir.resolve("fam.cu"), "// nvcc-flags: --use_fast_math -lineinfo\n#include \"a.cuh\"\nextern \"C\" __global__ void k() {}\n");
        Files.writeString(dir.resolve("a.cuh"), "#pragma once\n#include \"b.cuh\"\n");
        Files.writeString(dir.resolve("b.cuh"), "#pragma once\n");
        KernelSources s = KernelSources.fromSetting(dir.toString());
        assertTrue(s.overridden());
        KernelSources.Source src = s.source("fam");
        assertEquals(List.of("a.cuh", "b.cuh"), List.copyOf(src.headers().keySet()));
        assertEquals(dir.resolve("fam.cu").toString(), src.origin());
        assertEquals("--use_fast_math -lineinfo", src.extraFlags());
        assertEquals(List.of("--gpu-architecture=sm_90a", "-std=c++17", "--use_fast_math", "-lineinfo"),
                CudaModules.options("sm_90a", src.extraFlags()));
    }

    @Test
    void missingSourcesAndHeadersAreNamed() throws IOException {
        KernelSources s = KernelSources.fromSetting(dir.toString());
        CudaException e = assertThrows(CudaException.class, () -> s.source("nope"));
        assertTrue(e.getMessage().contains("nope.cu not found in CLIPVIL_KERNELS=" + dir), e.getMessage());
        Files.writeString(dir.resolve("x.cu"), "#include \"gone.cuh\"\n");
        CudaException h = assertThrows(CudaException.class, () -> s.source("x"));
        assertTrue(h.getMessage().contains("gone.cuh"), h.getMessage());
        assertThrows(CudaException.class, () -> KernelSources.fromSetting(dir.resolve("absent").toString()));
    }

    @Test
    void unsetOrBlankMeansTheJar() {
        assertFalse(KernelSources.fromSetting(null).overridden());
        assertFalse(KernelSources.fromSetting("  ").overridden());
    }

    @Test
    void theJarShipsEverySourceWithItsHeader() {
        KernelSources jar = KernelSources.fromSetting(null);
        for (String fam : KernelSymbolsTest.families()) {
            KernelSources.Source s = jar.source(fam);
            assertTrue(s.text().contains("extern \"C\" __global__"), fam);
        }
        for (String fam : KernelSymbolsTest.SIMPLE_FAMILIES) {
            KernelSources.Source s = jar.source(fam);
            assertTrue(s.text().contains("extern \"C\" __global__"), fam);
            assertTrue(s.headers().containsKey("common.cuh"), fam);
            assertEquals("", s.extraFlags(), fam + ": the simple families stay without fast math");
        }
    }

    @Test
    void fatbinsFitAmpereHopperAndNewer() {
        assertTrue(CudaModules.fatbinFits(8, 0));
        assertTrue(CudaModules.fatbinFits(8, 9));
        assertTrue(CudaModules.fatbinFits(9, 0));
        assertTrue(CudaModules.fatbinFits(12, 0));
        assertFalse(CudaModules.fatbinFits(7, 5));
    }
}
