package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.HostMemory;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The ops free their statistics: without grad at once, with grad when the step's scope closes. */
class NormAttentionMemoryTest {
    @Test
    void noGradForwardLeavesOnlyTheOutput() {
        Tensor x = Creation.randn(1, DType.F32, 4, 6, 8);
        Tensor q = Creation.randn(2, DType.F32, 1, 2, 3, 8);
        long before = HostMemory.get().inUseBytes();
        Tensor[] outs = {
                Normalization.layerNorm(x, null, null, 1e-5),
                Normalization.batchNorm(x, null, null, null, null, true, 0.1, 1e-5),
                Attention.scaledDotProduct(q, q, q, null, true, 0),
                Softmax.softmax(x, 1)};
        long outBytes = 0;
        for (Tensor t : outs) outBytes += (long) t.numel() * 4;
        assertEquals(before + outBytes, HostMemory.get().inUseBytes());
        for (Tensor t : outs) t.close();
        assertEquals(before, HostMemory.get().inUseBytes());
        x.close();
        q.close();
    }

    @Test
    void trainingStepFreesEverythingButLeafGradients() {
        Tensor x = Creation.randn(3, DType.F32, 4, 6, 8).requiresGrad(true);
        Tensor w = Creation.ones(DType.F32, 8).requiresGrad(true);
        Tensor bw = Creation.ones(DType.F32, 6).requiresGrad(true);
        long before = HostMemory.get().inUseBytes();
        try (MemoryScope s = MemoryScope.open()) {
            Tensor y = Normalization.layerNorm(x, w, null, 1e-5);
            Tensor z = Normalization.batchNorm(y, bw, null, null, null, true, 0.1, 1e-5);
            Tensor a = Views.reshape(z, 1, 4, 6, 8);
            Tensor o = Attention.scaledDotProduct(a, a, a, null, false, 0);
            Tensor l = Reductions.sum(Softmax.logSoftmax(o, -1));
            Autograd.backward(l);
        }
        long grads = 4L * (x.numel() + w.numel() + bw.numel());
        assertEquals(before + grads, HostMemory.get().inUseBytes());
        x.close();
        w.close();
        bw.close();
    }
}
