package dev.clipvil.backend.cuda;

import dev.clipvil.backend.MemoryStats;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GpuAvailable;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.global.cudart;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static dev.clipvil.backend.cuda.GpuParity.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The runtime layer on a real GPU: modules, NVRTC, launches, memory, threads, timing. */
@Tag("gpu")
@ExtendWith(GpuAvailable.class)
class CudaRuntimeGpuTest {
    private static CudaContext ctx() { return CudaContext.get(0); }

    @Test
    void everyFamilyCompilesWithNvrtcAndHasItsEntryPoints() throws Exception {
        KernelSources jar = KernelSources.fromSetting(null);
        for (String fam : KernelSymbolsTest.families()) {
            CUmod_st m = ctx().modules().compileAndLoad(jar, fam);
            for (String name : KernelSymbolsTest.entryPoints(fam)) {
                CUfunc_st f = new CUfunc_st();
                CudaCheck.drv(cudart.cuModuleGetFunction(f, m, name), "cuModuleGetFunction(" + fam + "/" + name + ")");
            }
            CudaCheck.drv(cudart.cuModuleUnload(m), "cuModuleUnload(" + fam + ")");
        }
    }

    @Test
    void everyLaunchedKernelResolvesFromTheJar() throws Exception {
        for (Kernel k : KernelSymbolsTest.declaredKernels()) k.function(ctx());
        System.out.println("kernel modules: " + ctx().modules().origins());
    }

    @Test
    void aBadLaunchNamesTheKernel() {
        try (Tensor t = gpu().empty(DType.F32, 4)) {
            KernelArgs a = KernelArgs.begin().ptr(CudaOps.addr(t)).i32(0).f64(1.0).geom(Geometry.of(new int[]{4}, new int[]{1}));
            CudaException e = assertThrows(CudaException.class, () -> KernelLaunch.launch(ctx(), CudaCopy.FILL, 1, 4096, 0, a));
            assertTrue(e.getMessage().contains("cuLaunchKernel(cast/cast_fill) grid 1x1x1 block 4096x1x1"), e.getMessage());
        }
        ctx().synchronize(); // the context is still usable
    }

    @Test
    void memoryStatsAndOutOfMemory() {
        ctx().synchronize();
        MemoryStats before = gpu().memoryStats();
        Tensor t = gpu().empty(DType.F32, 1 << 20);
        MemoryStats during = gpu().memoryStats();
        assertEquals(before.inUseBytes() + (4L << 20), during.inUseBytes());
        t.close();
        assertEquals(before.inUseBytes(), gpu().memoryStats().inUseBytes());
        // one tensor holds at most 2^31 - 1 elements: ask for 8 GiB blocks until the device is full
        java.util.List<Tensor> held = new java.util.ArrayList<>();
        CudaOutOfMemoryException e;
        try {
            e = assertThrows(CudaOutOfMemoryException.class, () -> {
                for (int i = 0; i < 64; i++) held.add(gpu().empty(DType.F64, 1 << 30));
            });
        } finally {
            for (Tensor h : held) h.close();
            ctx().memory().emptyCache();
        }
        assertTrue(e.getMessage().contains("out of memory allocating 8589934592 bytes (1073741824 x F64"), e.getMessage());
        assertTrue(e.getMessage().contains("in use"), e.getMessage());
        System.out.println("out-of-memory message: " + e.getMessage());
        assertEquals(before.inUseBytes(), gpu().memoryStats().inUseBytes());
    }

    @Test
    void otherThreadsGetTheContextAndTheSameStream() throws Exception {
        try (Pair x = randn(1, 1000)) {
            Tensor[] out = new Tensor[1];
            Thread th = new Thread(() -> out[0] = gpu().unary(dev.clipvil.backend.UnaryOp.EXP, x.gpu()));
            th.start();
            th.join();
            Tensor c = cpu().unary(dev.clipvil.backend.UnaryOp.EXP, x.cpu());
            assertClose("exp from another thread", out[0], c, F32);
            close(out[0], c);
        }
    }

    @Test
    void timerMeasuresGpuTime() {
        try (CudaTimer timer = ctx().timer(); Tensor t = gpu().empty(DType.F32, 1 << 24)) {
            timer.start();
            for (int i = 0; i < 10; i++) gpu().fill(t, i);
            float ms = timer.stopMillis();
            assertTrue(ms > 0 && ms < 10_000, ms + " ms");
            System.out.printf("10 fills of 64 MiB: %.3f ms (%.0f GB/s)%n", ms, 10 * 64.0 * 1.048576 / ms);
        }
    }
}
