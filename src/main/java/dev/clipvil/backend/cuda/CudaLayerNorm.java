package dev.clipvil.backend.cuda;

import dev.clipvil.backend.NormResult;
import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;

/**
 * Layer norm on the GPU. Parameters mirror {@code Backend.layerNorm}/{@code layerNormBackward} with
 * the device context first. This body is the {@link HostFallback}; kernels/layernorm.cu replaces it.
 */
final class CudaLayerNorm {
    private CudaLayerNorm() {}

    static NormResult forward(CudaContext ctx, Tensor x, Tensor weight, Tensor bias, double eps) {
        Tensor hx = HostFallback.down(x), hw = HostFallback.down(weight), hb = HostFallback.down(bias);
        try {
            NormResult r = CpuBackend.get().layerNorm(hx, hw, hb, eps);
            return new NormResult(HostFallback.up(ctx, r.out(), HostFallback.resultType(x)), HostFallback.up(ctx, r.mean(), DType.F32),
                    HostFallback.up(ctx, r.rstd(), DType.F32));
        } finally {
            HostFallback.close(hx, hw, hb);
        }
    }

    static Tensor[] backward(CudaContext ctx, Tensor gy, Tensor x, Tensor weight, Tensor mean, Tensor rstd) {
        Tensor hg = HostFallback.down(gy), hx = HostFallback.down(x), hw = HostFallback.down(weight);
        Tensor hm = HostFallback.down(mean), hr = HostFallback.down(rstd);
        try {
            Tensor[] g = CpuBackend.get().layerNormBackward(hg, hx, hw, hm, hr);
            return new Tensor[]{HostFallback.up(ctx, g[0], HostFallback.resultType(x)),
                    weight == null ? null : HostFallback.up(ctx, g[1], HostFallback.resultType(weight)),
                    weight == null || g[2] == null ? null : HostFallback.up(ctx, g[2], HostFallback.resultType(weight))};
        } finally {
            HostFallback.close(hg, hx, hw, hm, hr);
        }
    }
}
