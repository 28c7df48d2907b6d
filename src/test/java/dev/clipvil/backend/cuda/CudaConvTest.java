package dev.clipvil.backend.cuda;

import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GpuAvailable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static dev.clipvil.backend.cuda.KernelTestSupport.assertClose;
import static dev.clipvil.backend.cuda.KernelTestSupport.f64;
import static dev.clipvil.backend.cuda.KernelTestSupport.gpu;
import static dev.clipvil.backend.cuda.KernelTestSupport.random;
import static dev.clipvil.backend.cuda.KernelTestSupport.up;

/**
 * kernels/conv.cu against the CPU backend in F64: forward, input and weight gradients; odd sizes,
 * stride 2 and 3, padding, dilation (with a stride that shares a factor with it), groups (2, 3 and
 * depthwise, also with a channel multiplier), 1x1 (a stride-2 downsample), 3x3, 5x5 and the 7x7
 * stride-2 stem, a weight gradient large enough to be split over the grid. BF16 runs the NHWC
 * tensor-core kernels for all three (the input gradient by stride phase class, the weight gradient
 * split-K in F32) on channel counts that take their 16-byte loads (multiples of 8) and ones that do
 * not (3, 12, 70), to 2e-2 of the F64 reference.
 */
@Tag("gpu")
@ExtendWith(GpuAvailable.class)
class CudaConvTest {
    /** Every device allocation starts as NaN: an output element a kernel leaves unwritten fails the comparison. */
    @BeforeEach
    void poisonOn() { CudaMemory.setPoison(true); }

    @AfterEach
    void poisonOff() { CudaMemory.setPoison(false); }

    record Case(int n, int c, int h, int w, int k, int r, int s, Conv2dParams p) {}

    static final Case[] CASES = {
        new Case(2, 3, 11, 13, 5, 3, 3, Conv2dParams.of(1, 1)),
        new Case(2, 4, 15, 9, 6, 3, 3, Conv2dParams.of(2, 0)),
        new Case(1, 8, 12, 12, 8, 3, 3, new Conv2dParams(1, 2, 2, 1, 2, 1, 2)),
        new Case(2, 6, 7, 7, 6, 3, 3, new Conv2dParams(1, 1, 1, 1, 1, 1, 6)),
        new Case(3, 16, 9, 9, 24, 1, 1, Conv2dParams.of(1, 0)),
        new Case(4, 16, 32, 32, 16, 3, 3, Conv2dParams.of(1, 1)),
        new Case(2, 3, 32, 32, 70, 7, 7, new Conv2dParams(2, 2, 3, 3, 1, 1, 1)),
        new Case(1, 32, 10, 10, 64, 3, 3, new Conv2dParams(2, 2, 1, 1, 1, 1, 2)),
        new Case(2, 16, 9, 9, 32, 1, 1, Conv2dParams.of(2, 0)),
        new Case(1, 8, 13, 11, 16, 3, 3, new Conv2dParams(3, 2, 1, 2, 2, 3, 1)),
        new Case(1, 8, 9, 10, 16, 3, 3, new Conv2dParams(2, 2, 2, 1, 2, 2, 1)),
        new Case(1, 4, 7, 7, 8, 3, 3, new Conv2dParams(1, 1, 1, 1, 1, 1, 4)),
        new Case(2, 8, 11, 11, 24, 5, 5, Conv2dParams.of(2, 2)),
        new Case(2, 24, 6, 6, 48, 3, 3, new Conv2dParams(1, 1, 1, 1, 1, 1, 3)),
        new Case(1, 16, 8, 8, 12, 3, 3, Conv2dParams.of(1, 1)),
    };

    @Test
    void f32MatchesCpu() {
        CudaContext ctx = gpu();
        for (Case c : CASES) run(ctx, c, DType.F32, 1e-5);
    }

    @Test
    void bf16MatchesCpu() {
        CudaContext ctx = gpu();
        for (Case c : CASES) run(ctx, c, DType.BF16, 2e-2);
    }

    @Test
    void layoutTransformsAreExact() {
        CudaContext ctx = gpu();
        for (DType dt : new DType[]{DType.F32, DType.BF16}) {
            try (MemoryScope scope = MemoryScope.open()) {
                Tensor x = random(dt, 5, -1, 1, 2, 5, 7, 3);                                       // NCHW [2, 5, 7, 3]
                Tensor want = x.asStrided(new int[]{2, 7, 3, 5}, new int[]{105, 3, 1, 21}, 0);    // its NHWC view
                Tensor nhwc = CudaConv.nchwToNhwc(ctx, up(ctx, x, dt));
                assertClose(dt + " nchw -> nhwc", nhwc, want, 0);
                assertClose(dt + " nhwc -> nchw", CudaConv.nhwcToNchw(ctx, nhwc), x, 0);
            }
        }
    }

    private static void run(CudaContext ctx, Case c, DType dt, double tol) {
        String what = dt + " " + c;
        Conv2dParams p = c.p;
        int g = p.groups();
        int[] xs = {c.n, c.c, c.h, c.w}, ws = {c.k, c.c / g, c.r, c.s};
        int[] ys = {c.n, c.k, p.outH(c.h, c.r), p.outW(c.w, c.s)};
        try (MemoryScope scope = MemoryScope.open()) {
            long seed = 13L * c.c + c.k;
            Tensor x = random(dt, seed, -1, 1, xs);
            Tensor w = random(dt, seed + 1, -1, 1, ws);
            Tensor b = random(DType.F32, seed + 2, -1, 1, c.k);
            Tensor gy = random(dt, seed + 3, -1, 1, ys);
            Tensor x64 = f64(x), w64 = f64(w), gy64 = f64(gy);
            Tensor refY = CpuBackend.get().conv2d(x64, w64, f64(b), p);
            Tensor refGx = CpuBackend.get().conv2dBackwardInput(gy64, w64, xs, p);
            Tensor refGw = CpuBackend.get().conv2dBackwardWeight(gy64, x64, ws, p);

            Tensor dx = up(ctx, x, dt), dw = up(ctx, w, dt), dgy = up(ctx, gy, dt);
            assertClose(what + " y", CudaConv.forward(ctx, dx, dw, up(ctx, b, dt), p), refY, tol);
            assertClose(what + " gx", CudaConv.backwardInput(ctx, dgy, dw, xs, p), refGx, tol);
            assertClose(what + " gw", CudaConv.backwardWeight(ctx, dgy, dx, ws, p), refGw, tol);
        }
    }
}
