package dev.clipvil.backend.cuda;

import dev.clipvil.backend.AttentionResult;
import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.backend.NormResult;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GpuAvailable;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static dev.clipvil.backend.cuda.GpuParity.*;

/**
 * Attention, layer norm and convolution through CudaAttention/CudaLayerNorm/CudaConv (whatever their
 * bodies are: the host fallback or the fused kernels) against the CPU backend.
 */
@Tag("gpu")
@ExtendWith(GpuAvailable.class)
class CudaFallbackParityTest {
    @BeforeAll
    static void poison() { CudaMemory.setPoison(true); }

    @Test
    void attentionWithMasks() {
        int b = 2, h = 3, s = 50, d = 64;
        double scale = 1 / Math.sqrt(d);
        try (Pair q = randn(1, b, h, s, d); Pair k = randn(2, b, h, s, d); Pair v = randn(3, b, h, s, d); Pair go = randn(4, b, h, s, d);
             Pair mask = randn(5, 1, 1, s, s)) {
            for (int variant = 0; variant < 3; variant++) {
                Pair m = variant == 1 ? mask : null;
                boolean causal = variant == 2;
                AttentionResult g = gpu().attention(q.gpu(), k.gpu(), v.gpu(), m == null ? null : m.gpu(), causal, scale);
                AttentionResult c = cpu().attention(q.cpu(), k.cpu(), v.cpu(), m == null ? null : m.cpu(), causal, scale);
                assertClose("attention out " + variant, g.out(), c.out(), F32);
                assertClose("attention lse " + variant, g.lse(), c.lse(), F32);
                Tensor[] gg = gpu().attentionBackward(go.gpu(), q.gpu(), k.gpu(), v.gpu(), g.out(), g.lse(), m == null ? null : m.gpu(), causal, scale);
                Tensor[] cg = cpu().attentionBackward(go.cpu(), q.cpu(), k.cpu(), v.cpu(), c.out(), c.lse(), m == null ? null : m.cpu(), causal, scale);
                for (int i = 0; i < 3; i++) assertClose("attention grad " + i + " variant " + variant, gg[i], cg[i], 1e-4);
                close(gg);
                close(cg);
                close(g.out(), g.lse(), c.out(), c.lse());
            }
        }
    }

    @Test
    void layerNormForwardBackward() {
        try (Pair x = randnNarrow(1, 50, 768); Pair w = randn(2, 768); Pair bias = randn(3, 768); Pair gy = randn(4, 50, 768)) {
            NormResult g = gpu().layerNorm(x.gpu(), w.gpu(), bias.gpu(), 1e-5), c = cpu().layerNorm(x.cpu(), w.cpu(), bias.cpu(), 1e-5);
            assertClose("layer_norm", g.out(), c.out(), F32);
            assertClose("layer_norm mean", g.mean(), c.mean(), F32);
            assertClose("layer_norm rstd", g.rstd(), c.rstd(), F32);
            Tensor[] gg = gpu().layerNormBackward(gy.gpu(), x.gpu(), w.gpu(), g.mean(), g.rstd());
            Tensor[] cg = cpu().layerNormBackward(gy.cpu(), x.cpu(), w.cpu(), c.mean(), c.rstd());
            for (int i = 0; i < 3; i++) assertClose("layer_norm grad " + i, gg[i], cg[i], 1e-4);
            close(gg);
            close(cg);
            close(g.out(), g.mean(), g.rstd(), c.out(), c.mean(), c.rstd());
        }
        try (Pair x0 = randn(1, 7, 512); Pair x = bf16(x0)) {
            NormResult g = gpu().layerNorm(x.gpu(), null, null, 1e-5), c = cpu().layerNorm(x.cpu(), null, null, 1e-5);
            assertClose("layer_norm bf16", g.out(), c.out(), BF16);
            org.junit.jupiter.api.Assertions.assertEquals(DType.BF16, g.out().dtype());
            close(g.out(), g.mean(), g.rstd(), c.out(), c.mean(), c.rstd());
        }
    }

    @Test
    void convolutionForwardAndBackward() {
        Conv2dParams[] ps = {Conv2dParams.of(1, 1), Conv2dParams.of(2, 0), new Conv2dParams(1, 2, 1, 0, 2, 1, 2)};
        for (Conv2dParams p : ps) {
            try (Pair x = randn(1, 2, 4, 11, 9); Pair w = randn(2, 6, 4 / p.groups(), 3, 3); Pair bias = randn(3, 6)) {
                Tensor g = gpu().conv2d(x.gpu(), w.gpu(), bias.gpu(), p), c = cpu().conv2d(x.cpu(), w.cpu(), bias.cpu(), p);
                assertClose("conv2d " + p, g, c, 1e-4);
                try (Pair gy = randn(4, c.shape())) {
                    Tensor gi = gpu().conv2dBackwardInput(gy.gpu(), w.gpu(), x.shape(), p), ci = cpu().conv2dBackwardInput(gy.cpu(), w.cpu(), x.shape(), p);
                    assertClose("conv2d backward input " + p, gi, ci, 1e-4);
                    Tensor gw = gpu().conv2dBackwardWeight(gy.gpu(), x.gpu(), w.shape(), p), cw = cpu().conv2dBackwardWeight(gy.cpu(), x.cpu(), w.shape(), p);
                    assertClose("conv2d backward weight " + p, gw, cw, 1e-4);
                    close(gi, ci, gw, cw);
                }
                close(g, c);
            }
        }
    }
}
