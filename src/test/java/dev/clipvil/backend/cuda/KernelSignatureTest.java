package dev.clipvil.backend.cuda;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reading entry-point parameter kinds from the sources, which the first launch of a kernel checks its arguments against. */
class KernelSignatureTest {
    @Test
    void kindsOfTypicalSignatures() {
        String src = "extern \"C\" __global__ void k(void* out, int odt, const void* x,\n  float s, double d, unsigned long long seed, long long ig, Geom g) {}\n"
                + "extern \"C\" __global__ void none() {}";
        assertEquals("pipfdllg", KernelSignature.of(src, "k"));
        assertEquals("", KernelSignature.of(src, "none"));
        assertNull(KernelSignature.of(src, "k2"));
        assertThrows(IllegalArgumentException.class, () -> KernelSignature.of("extern \"C\" __global__ void q(short s) {}", "q"));
    }

    @Test
    void everyEntryPointOfEveryFamilyHasPackableParameters() throws Exception {
        int n = 0;
        for (String fam : KernelSymbolsTest.families()) {
            String src = Files.readString(KernelSymbolsTest.kernelsDir().resolve(fam + ".cu"));
            for (String name : KernelSymbolsTest.entryPoints(fam)) {
                assertNotNull(KernelSignature.of(src, name), fam + "/" + name);
                n++;
            }
        }
        assertTrue(n >= 30, n + " entry points");
    }

    @Test
    void aMismatchNamesBothSides() {
        Kernel k = Kernel.of("cast", "cast_fill");
        k.check("pidg", "pidg");
        CudaException e = assertThrows(CudaException.class, () -> k.check("pidg", "pifg"));
        assertTrue(e.getMessage().contains("cast/cast_fill: the Java side packs arguments (pifg) but the source declares (pidg)"), e.getMessage());
        assertThrows(CudaException.class, () -> k.check(null, "p"));
    }

    @Test
    void packedKindsFollowTheCalls() {
        KernelArgs a = KernelArgs.begin().ptr(1).i32(2).i64(3).f32(4).f64(5).geom(Geometry.of(new int[]{1}, new int[]{1}));
        assertEquals("pilfdg", a.kinds());
    }
}
