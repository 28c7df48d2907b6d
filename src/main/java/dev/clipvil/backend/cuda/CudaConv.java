package dev.clipvil.backend.cuda;

import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.tensor.Tensor;

/**
 * 2-D convolution on the GPU. Parameters mirror {@code Backend.conv2d}/{@code conv2dBackwardInput}/
 * {@code conv2dBackwardWeight} with the device context first. This body is the {@link HostFallback};
 * kernels/conv.cu (implicit GEMM) and cuDNN replace it.
 */
final class CudaConv {
    private CudaConv() {}

    static Tensor forward(CudaContext ctx, Tensor x, Tensor weight, Tensor bias, Conv2dParams p) {
        Tensor hx = HostFallback.down(x), hw = HostFallback.down(weight), hb = HostFallback.down(bias);
        try {
            return HostFallback.up(ctx, CpuBackend.get().conv2d(hx, hw, hb, p), HostFallback.resultType(x));
        } finally {
            HostFallback.close(hx, hw, hb);
        }
    }

    static Tensor backwardInput(CudaContext ctx, Tensor gy, Tensor weight, int[] inputShape, Conv2dParams p) {
        Tensor hg = HostFallback.down(gy), hw = HostFallback.down(weight);
        try {
            return HostFallback.up(ctx, CpuBackend.get().conv2dBackwardInput(hg, hw, inputShape, p), HostFallback.resultType(gy));
        } finally {
            HostFallback.close(hg, hw);
        }
    }

    static Tensor backwardWeight(CudaContext ctx, Tensor gy, Tensor x, int[] weightShape, Conv2dParams p) {
        Tensor hg = HostFallback.down(gy), hx = HostFallback.down(x);
        try {
            return HostFallback.up(ctx, CpuBackend.get().conv2dBackwardWeight(hg, hx, weightShape, p), HostFallback.resultType(x));
        } finally {
            HostFallback.close(hg, hx);
        }
    }
}
