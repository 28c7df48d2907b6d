package dev.clipvil.backend.cuda;

import dev.clipvil.backend.AttentionResult;
import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;

/**
 * Fused attention on the GPU. Parameters mirror {@code Backend.attention}/{@code attentionBackward}
 * with the device context first. This body is the {@link HostFallback} (the CPU backend on host
 * copies); the fused kernels (kernels/attention.cu) replace it.
 */
final class CudaAttention {
    private CudaAttention() {}

    static AttentionResult forward(CudaContext ctx, Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale) {
        Tensor hq = HostFallback.down(q), hk = HostFallback.down(k), hv = HostFallback.down(v), hm = HostFallback.down(mask);
        try {
            AttentionResult r = CpuBackend.get().attention(hq, hk, hv, hm, causal, scale);
            return new AttentionResult(HostFallback.up(ctx, r.out(), HostFallback.resultType(q)), HostFallback.up(ctx, r.lse(), DType.F32));
        } finally {
            HostFallback.close(hq, hk, hv, hm);
        }
    }

    static Tensor[] backward(CudaContext ctx, Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                             Tensor mask, boolean causal, double scale) {
        Tensor hg = HostFallback.down(gOut), hq = HostFallback.down(q), hk = HostFallback.down(k), hv = HostFallback.down(v);
        Tensor ho = HostFallback.down(out), hl = HostFallback.down(lse), hm = HostFallback.down(mask);
        try {
            Tensor[] g = CpuBackend.get().attentionBackward(hg, hq, hk, hv, ho, hl, hm, causal, scale);
            return new Tensor[]{HostFallback.up(ctx, g[0], HostFallback.resultType(q)), HostFallback.up(ctx, g[1], HostFallback.resultType(k)),
                    HostFallback.up(ctx, g[2], HostFallback.resultType(v))};
        } finally {
            HostFallback.close(hg, hq, hk, hv, ho, hl, hm);
        }
    }
}
