package dev.clipvil.backend;

/** Kernel, stride and padding of a 2-D average pool (PyTorch's avg_pool2d arguments). */
public record Pool2dParams(int kernelH, int kernelW, int strideH, int strideW, int padH, int padW,
                           boolean ceilMode, boolean countIncludePad) {
    public Pool2dParams {
        if (kernelH < 1 || kernelW < 1 || strideH < 1 || strideW < 1) throw new IllegalArgumentException("avg_pool2d: kernel and stride must be >= 1");
        if (padH < 0 || padW < 0 || padH * 2 > kernelH || padW * 2 > kernelW) throw new IllegalArgumentException("avg_pool2d: padding must be between 0 and half the kernel");
    }

    public static Pool2dParams of(int kernel, int stride) { return new Pool2dParams(kernel, kernel, stride, stride, 0, 0, false, true); }

    public int outH(int h) { return out(h, kernelH, strideH, padH); }

    public int outW(int w) { return out(w, kernelW, strideW, padW); }

    private int out(int in, int k, int s, int p) {
        int num = in + 2 * p - k;
        int o = (ceilMode ? (num + s - 1) / s : num / s) + 1;
        // PyTorch: the last window must start inside the input or the left padding.
        if (ceilMode && (o - 1) * s >= in + p) o--;
        return o;
    }
}
