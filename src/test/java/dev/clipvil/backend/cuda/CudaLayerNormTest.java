package dev.clipvil.backend.cuda;

import dev.clipvil.backend.AddNormResult;
import dev.clipvil.backend.BinaryOp;
import dev.clipvil.backend.NormResult;
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
 * kernels/layernorm.cu against the CPU backend in F64: forward (out, mean, rstd), backward (gx, gw,
 * gb) and the fused residual variant; row lengths that take the 128-bit path (768, 1024) and ones
 * that do not (77, 1030), with and without weight/bias, a transposed (non-contiguous) input.
 */
@Tag("gpu")
@ExtendWith(GpuAvailable.class)
class CudaLayerNormTest {
    /** Every device allocation starts as NaN: an output element a kernel leaves unwritten fails the comparison. */
    @BeforeEach
    void poisonOn() { CudaMemory.setPoison(true); }

    @AfterEach
    void poisonOff() { CudaMemory.setPoison(false); }

    record Case(int rows, int c, boolean affine, boolean transposed) {}

    private static final Case[] CASES = {
        new Case(50, 768, true, false),
        new Case(37, 1024, true, false),
        new Case(13, 77, true, false),
        new Case(9, 1030, false, false),
        new Case(64, 40, true, true),
        new Case(1, 1, true, false),
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

    private static void run(CudaContext ctx, Case c, DType dt, double tol) {
        String what = dt + " " + c;
        double eps = 1e-5;
        try (MemoryScope scope = MemoryScope.open()) {
            long seed = 7L * c.rows + c.c;
            // x stored [c, rows] and viewed transposed when the case asks for a non-contiguous input
            Tensor x = c.transposed ? random(dt, seed, -2, 3, c.c, c.rows) : random(dt, seed, -2, 3, c.rows, c.c);
            Tensor w = c.affine ? random(DType.F32, seed + 1, 0.5, 1.5, c.c) : null;
            Tensor b = c.affine ? random(DType.F32, seed + 2, -0.5, 0.5, c.c) : null;
            Tensor gy = random(dt, seed + 3, -1, 1, c.rows, c.c);

            Tensor x64 = t(f64(x), c), w64 = w == null ? null : f64(w), b64 = b == null ? null : f64(b);
            NormResult ref = CpuBackend.get().layerNorm(x64, w64, b64, eps);
            Tensor[] refG = CpuBackend.get().layerNormBackward(f64(gy), x64, w64, ref.mean(), ref.rstd());

            Tensor dx = t(up(ctx, x, dt), c), dw = w == null ? null : up(ctx, w, DType.F32), db = b == null ? null : up(ctx, b, DType.F32);
            NormResult got = CudaLayerNorm.forward(ctx, dx, dw, db, eps);
            assertClose(what + " out", got.out(), ref.out(), tol);
            assertClose(what + " mean", got.mean(), ref.mean(), tol);
            assertClose(what + " rstd", got.rstd(), ref.rstd(), tol);

            Tensor[] g = CudaLayerNorm.backward(ctx, up(ctx, gy, dt), dx, dw, got.mean(), got.rstd());
            assertClose(what + " gx", g[0], refG[0], tol);
            if (c.affine) {
                assertClose(what + " gw", g[1], refG[1], tol);
                assertClose(what + " gb", g[2], refG[2], tol);
            }

            // fused residual: sum = x + r, y = LN(sum)
            Tensor r = random(dt, seed + 5, -1, 1, c.rows, c.c);
            Tensor sum64 = CpuBackend.get().binary(BinaryOp.ADD, x64, f64(r));
            if (dt == DType.BF16) { // the kernel rounds the stored sum to BF16 before the statistics
                Tensor s16 = CpuBackend.get().cast(sum64, DType.BF16);
                sum64 = CpuBackend.get().cast(s16, DType.F64);
            }
            NormResult refR = CpuBackend.get().layerNorm(sum64, w64, b64, eps);
            AddNormResult res = CudaLayerNorm.forwardResidual(ctx, dx, up(ctx, r, dt), dw, db, eps);
            assertClose(what + " residual out", res.out(), refR.out(), tol);
            assertClose(what + " residual sum", res.sum(), sum64, tol);
            assertClose(what + " residual mean", res.mean(), refR.mean(), tol);
            assertClose(what + " residual rstd", res.rstd(), refR.rstd(), tol);
        }
    }

    /** The [rows, c] view: a transpose of [c, rows] storage for the transposed cases. */
    private static Tensor t(Tensor x, Case c) {
        if (!c.transposed) return x;
        return x.asStrided(new int[]{c.rows, c.c}, new int[]{1, c.rows}, x.offset());
    }
}
