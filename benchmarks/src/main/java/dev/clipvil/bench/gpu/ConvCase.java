package dev.clipvil.bench.gpu;

import com.google.gson.JsonObject;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;

import java.util.List;

/**
 * conv2d forward ({@link Backend#conv2d}, 3x3, stride 1, padding 1, no bias) at the ResNet-50 stage shapes
 * of the PyTorch baseline (N=256; C=K=64 at 56², 128 at 28², 256 at 14², and the 3->32 stem at 112²),
 * BF16. Two layouts: "nhwc" passes x and the weight as channels-last views (the layout the CUDA kernels
 * are written for; PyTorch's channels_last), "nchw" contiguous. FLOP 2·N·K·C·9·H·W.
 * The Backend interface has no switch between our kernels and cuDNN; PyTorch's figures are cuDNN's.
 */
final class ConvCase implements BenchCase {
    @Override public String name() { return "conv2d"; }

    @Override
    public void run(Env env, List<JsonObject> out) {
        boolean full = env.scale() == Scale.FULL;
        int n = full ? 256 : 2;
        int[][] shapes = full ? new int[][] {{64, 64, 56}, {128, 128, 28}, {256, 256, 14}, {3, 32, 112}}
                              : new int[][] {{4, 8, 6}, {3, 4, 7}};
        DType dtype = full ? DType.BF16 : DType.F32;
        for (int[] s : shapes) {
            for (boolean nhwc : new boolean[] {true, false}) {
                String variant = "N" + n + "_C" + s[0] + "_K" + s[1] + "_H" + s[2] + (nhwc ? "_nhwc" : "_nchw");
                JsonObject o = BenchCase.result("conv2d", variant, dtype.name());
                try {
                    BenchCase.scoped(() -> measure(env, o, n, s[0], s[1], s[2], dtype, nhwc));
                } catch (RuntimeException | Error e) {
                    BenchCase.failed(o, e);
                }
                out.add(o);
            }
        }
    }

    private static void measure(Env env, JsonObject o, int n, int c, int k, int hw, DType dtype, boolean nhwc) {
        Backend be = env.backend();
        Tensor x = nhwc ? Views.permute(env.randn(dtype, 21, n, hw, hw, c), 0, 3, 1, 2) : env.randn(dtype, 21, n, c, hw, hw);
        Tensor w = nhwc ? Views.permute(env.randn(dtype, 22, k, 3, 3, c), 0, 3, 1, 2) : env.randn(dtype, 22, k, c, 3, 3);
        Conv2dParams p = Conv2dParams.of(1, 1);
        DeviceClock.Timing t = env.clock().time(() -> be.conv2d(x, w, null, p), 3, 15, 20, env.caseDeadline(10));
        BenchCase.timing(o, t, 2.0 * n * k * c * 9.0 * hw * hw, 0);
    }
}
