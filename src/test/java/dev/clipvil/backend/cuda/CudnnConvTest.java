package dev.clipvil.backend.cuda;

import dev.clipvil.backend.Backends;
import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GpuAvailable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Arrays;

import static dev.clipvil.backend.cuda.KernelTestSupport.assertClose;
import static dev.clipvil.backend.cuda.KernelTestSupport.f64;
import static dev.clipvil.backend.cuda.KernelTestSupport.gpu;
import static dev.clipvil.backend.cuda.KernelTestSupport.random;
import static dev.clipvil.backend.cuda.KernelTestSupport.up;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * conv2d through cuDNN ({@link CudnnConv}, {@code --conv cudnn}) against the CPU backend in F64:
 * forward with bias, input and weight gradients, on the shapes of {@link CudaConvTest} (odd sizes,
 * stride, padding, dilation, groups, depthwise, 1x1, 7x7 stem); F32 with TF32 off (1e-5), BF16
 * (2e-2), BF16 also from channels-last views read in place, and once through CudaBackend with the
 * switch set. Outputs are poisoned (NaN) first. Skips where there is no GPU, or no cuDNN (printed).
 */
@Tag("gpu")
@ExtendWith(GpuAvailable.class)
class CudnnConvTest {
    private boolean tf32Before;

    @BeforeEach
    void setUp() {
        String why = ConvImpl.CUDNN.unavailableReason();
        if (why != null) System.out.println("SKIPPED CudnnConvTest (" + why + ")");
        Assumptions.assumeTrue(why == null, why);
        CudaMemory.setPoison(true);
        tf32Before = CudaBackend.tf32Allowed();
        CudaBackend.allowTf32(false);
    }

    @AfterEach
    void tearDown() {
        CudaMemory.setPoison(false);
        CudaBackend.allowTf32(tf32Before);
    }

    /** CudaConvTest's first eight shapes (groups, depthwise, 1x1, stride, dilation, the 7x7 stem): the same convolutions for cuDNN. */
    private static final CudaConvTest.Case[] CASES = Arrays.copyOf(CudaConvTest.CASES, 8);

    @Test
    void f32MatchesCpu() {
        CudaContext ctx = gpu();
        for (CudaConvTest.Case c : CASES) run(ctx, c, DType.F32, 1e-5, false);
    }

    @Test
    void bf16MatchesCpu() {
        CudaContext ctx = gpu();
        for (CudaConvTest.Case c : CASES) run(ctx, c, DType.BF16, 2e-2, false);
    }

    @Test
    void bf16ChannelsLastViewsMatchCpu() {
        CudaContext ctx = gpu();
        for (CudaConvTest.Case c : CASES) run(ctx, c, DType.BF16, 2e-2, true);
    }

    @Test
    void backendDispatchesToCudnnUnderTheSwitch() {
        CudaContext ctx = gpu();
        ConvImpl outer = ConvImpl.current();
        try (MemoryScope scope = MemoryScope.open(); ConvImpl.Scope s = ConvImpl.scoped(ConvImpl.CUDNN)) {
            CudaConvTest.Case c = CASES[0];
            Tensor x = random(DType.F32, 3, -1, 1, c.n(), c.c(), c.h(), c.w()), w = random(DType.F32, 4, -1, 1, c.k(), c.c(), c.r(), c.s());
            Tensor ref = CpuBackend.get().conv2d(f64(x), f64(w), null, c.p());
            assertClose("backend conv2d (cudnn)", Backends.of(ctx.device()).conv2d(up(ctx, x, DType.F32), up(ctx, w, DType.F32), null, c.p()), ref, 1e-5);
        }
        assertSame(outer, ConvImpl.current());
    }

    /** An NCHW-shaped view of channels-last (NHWC) device memory holding host tensor {@code x}. */
    private static Tensor channelsLast(CudaContext ctx, Tensor x, DType dt) {
        try (Tensor nhwc = CpuBackend.get().contiguous(Views.permute(x, 0, 2, 3, 1))) {
            return Views.permute(up(ctx, nhwc, dt), 0, 3, 1, 2);
        }
    }

    private static void run(CudaContext ctx, CudaConvTest.Case c, DType dt, double tol, boolean channelsLast) {
        String what = dt + (channelsLast ? " channels-last " : " ") + c;
        Conv2dParams p = c.p();
        int g = p.groups();
        int[] xs = {c.n(), c.c(), c.h(), c.w()}, ws = {c.k(), c.c() / g, c.r(), c.s()};
        int[] ys = {c.n(), c.k(), p.outH(c.h(), c.r()), p.outW(c.w(), c.s())};
        try (MemoryScope scope = MemoryScope.open()) {
            long seed = 17L * c.c() + c.k();
            Tensor x = random(dt, seed, -1, 1, xs);
            Tensor w = random(dt, seed + 1, -1, 1, ws);
            Tensor b = random(dt, seed + 2, -1, 1, c.k());
            Tensor gy = random(dt, seed + 3, -1, 1, ys);
            Tensor x64 = f64(x), w64 = f64(w), gy64 = f64(gy);
            Tensor refY = CpuBackend.get().conv2d(x64, w64, f64(b), p);
            Tensor refGx = CpuBackend.get().conv2dBackwardInput(gy64, w64, xs, p);
            Tensor refGw = CpuBackend.get().conv2dBackwardWeight(gy64, x64, ws, p);

            Tensor dx = channelsLast ? channelsLast(ctx, x, dt) : up(ctx, x, dt);
            Tensor dw = channelsLast ? channelsLast(ctx, w, dt) : up(ctx, w, dt);
            Tensor dgy = channelsLast ? channelsLast(ctx, gy, dt) : up(ctx, gy, dt);
            assertClose(what + " y", CudnnConv.forward(ctx, dx, dw, up(ctx, b, dt), p), refY, tol);
            assertClose(what + " gx", CudnnConv.backwardInput(ctx, dgy, dw, xs, p), refGx, tol);
            assertClose(what + " gw", CudnnConv.backwardWeight(ctx, dgy, dx, ws, p), refGw, tol);
        }
    }
}
