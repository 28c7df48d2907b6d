package dev.clipvil.backend.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ptxas resource tables of the build (native/build-kernels.sh, {@code <family>.resources}) and the
 * launch limits the dry-run device checks with them: a block that needs more registers than an SM has,
 * or more shared memory than a block may use, fails in CI instead of on the GPU. Also holds every kernel
 * to no register spills.
 */
class KernelResourcesTest {
    private static final String SAMPLE = "# stamp abc\n# arch\tkernel\tregisters\tstatic_smem\tstack\tspill_stores\tspill_loads\n"
            + "sm_80\tk_big\t254\t0\t0\t0\t0\nsm_90a\tk_big\t254\t0\t0\t0\t0\nsm_90a\tk_smem\t32\t36864\t0\t0\t0\n";

    @Test
    void parsesTheTableAndItsStamp() {
        String[] stamp = new String[1];
        List<KernelResources.Usage> t = KernelResources.parse(SAMPLE, stamp);
        assertEquals("abc", stamp[0]);
        assertEquals(3, t.size());
        assertEquals(new KernelResources.Usage("sm_90a", "k_smem", 32, 36864, 0, 0, 0), t.get(2));
    }

    @Test
    void registersAreAllocatedPerWarpInUnitsOf256() {
        assertEquals(65536, KernelResources.blockRegisters(254, 256), "254 -> 256 per thread, 8 warps of 8192");
        assertEquals(256, KernelResources.blockRegisters(1, 8), "a partial warp still takes one allocation unit");
        assertEquals(2 * 40 * 32, KernelResources.blockRegisters(33, 33), "33 registers round up to 40, 33 threads are two warps");
    }

    @Test
    void launchesBeyondAnSmsRegistersOrABlocksSharedMemoryAreProblems() {
        List<KernelResources.Usage> t = KernelResources.parse(SAMPLE, new String[1]);
        Kernel big = Kernel.of("f", "k_big"), smem = Kernel.of("f", "k_smem");
        assertNull(KernelResources.launchProblem(big, t, 256, 0));
        String regs = KernelResources.launchProblem(big, t, 512, 0);
        assertNotNull(regs);
        assertTrue(regs.contains("512 threads needs 131072 registers on sm_80"), regs);
        assertNull(KernelResources.launchProblem(smem, t, 1024, 0));
        String opt = KernelResources.launchProblem(smem, t, 128, 60_000);
        assertTrue(opt.contains("more than the 49152 the kernel opts in to"), opt);
        Kernel wide = Kernel.withDynamicShared("f", "k_smem", 200 * 1024);
        String block = KernelResources.launchProblem(wide, t, 128, 200 * 1024);
        assertTrue(block.contains("36864 bytes of static and 204800 of dynamic shared memory on sm_90a, more than the 232448"), block);
    }

    /** The tables nvcc wrote for this build (skipped for a build with -Dclipvil.nvcc.skip=true or one older than the sources). */
    private static List<KernelResources.Usage> built() throws Exception {
        List<KernelResources.Usage> all = new ArrayList<>();
        for (String family : KernelSymbolsTest.families()) all.addAll(KernelResources.of(family));
        if (all.isEmpty()) {
            System.out.println("SKIPPED KernelResourcesTest: no resource table of the current kernel sources in this build "
                    + "(built with -Dclipvil.nvcc.skip=true, or kernels edited since)");
            Assumptions.abort("no resource tables");
        }
        return all;
    }

    @Test
    void noKernelSpillsRegisters() throws Exception {
        List<String> spilling = new ArrayList<>();
        List<KernelResources.Usage> all = built();
        for (KernelResources.Usage u : all) {
            if (u.spillStores() > 0 || u.spillLoads() > 0) spilling.add(u.arch() + " " + u.kernel() + ": " + u.spillStores() + " B stored, " + u.spillLoads() + " B loaded");
        }
        assertTrue(spilling.isEmpty(), "register spills: " + spilling);
        System.out.println("KernelResourcesTest: " + all.size() + " (kernel, architecture) pairs, no spills; most registers "
                + all.stream().mapToInt(KernelResources.Usage::registers).max().orElse(0) + ", most static shared memory "
                + all.stream().mapToInt(KernelResources.Usage::staticShared).max().orElse(0) + " B");
    }

    @Test
    void everyFamilyHasEntriesForBothArchitectures() throws Exception {
        List<KernelResources.Usage> all = built();
        for (String family : KernelSymbolsTest.families()) {
            List<KernelResources.Usage> t = KernelResources.of(family);
            if (t.isEmpty()) continue; // that family's fatbin is older than its source
            for (String arch : new String[]{"sm_80", "sm_90a"}) {
                assertFalse(t.stream().noneMatch(u -> u.arch().equals(arch)), family + " has no " + arch + " entries");
            }
        }
        assertFalse(all.isEmpty());
    }
}
