package dev.clipvil.bench.gpu;

import com.google.gson.JsonObject;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.backend.cuda.ConvImpl;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.Tensor;

import java.util.List;

/**
 * conv2d forward ({@link Backend#conv2d}, 3x3, stride 1, padding 1, no bias) at the ResNet-50 stage shapes
 * of the PyTorch baseline (N=256; C=K=64 at 56², 128 at 28², 256 at 14², and the 3->32 stem at 112²),
 * BF16. Two layouts: "nhwc" passes x and the weight as channels-last views (the layout the CUDA kernels
 * are written for; PyTorch's channels_last), "nchw" contiguous. FLOP 2·N·K·C·9·H·W.
 * Each shape runs twice through the same Backend call: bench "conv2d" with our kernels
 * ({@code --conv clipvil}) and bench "conv2d_cudnn" with cuDNN ({@code --conv cudnn}; "unavailable" on
 * the CPU or without cuDNN); the ours row then carries {@code of_cudnn}, our TFLOP/s over cuDNN's
 * (issue 4's target: at least 0.6 for the BF16 nhwc rows). Both include the same layout work around the
 * convolution (cuDNN reads channels-last views in place; see CudnnConv). PyTorch's eager figures are cuDNN's too.
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
                JsonObject d = BenchCase.result("conv2d_cudnn", variant, dtype.name());
                String noCudnn = env.backend().device().kind() != Device.Kind.CUDA ? "cuDNN runs on a CUDA device only"
                        : ConvImpl.CUDNN.unavailableReason();
                for (ConvImpl impl : ConvImpl.values()) {
                    JsonObject r = impl == ConvImpl.CLIPVIL ? o : d;
                    if (impl == ConvImpl.CUDNN && noCudnn != null) {
                        r.addProperty("status", "unavailable");
                        r.addProperty("error", noCudnn);
                        continue;
                    }
                    try (ConvImpl.Scope scope = ConvImpl.scoped(impl)) {
                        BenchCase.scoped(() -> measure(env, r, n, s[0], s[1], s[2], dtype, nhwc));
                    } catch (RuntimeException | Error e) {
                        BenchCase.failed(r, e);
                    }
                }
                if ("ok".equals(status(o)) && "ok".equals(status(d)) && o.has("TFLOPs") && d.has("TFLOPs") && d.get("TFLOPs").getAsDouble() > 0) {
                    o.addProperty("of_cudnn", BenchCase.round(o.get("TFLOPs").getAsDouble() / d.get("TFLOPs").getAsDouble()));
                }
                out.add(o);
                out.add(d);
            }
        }
    }

    private static String status(JsonObject o) { return o.has("status") ? o.get("status").getAsString() : ""; }

    private static void measure(Env env, JsonObject o, int n, int c, int k, int hw, DType dtype, boolean nhwc) {
        Backend be = env.backend();
        Tensor x = nhwc ? Views.permute(env.randn(dtype, 21, n, hw, hw, c), 0, 3, 1, 2) : env.randn(dtype, 21, n, c, hw, hw);
        Tensor w = nhwc ? Views.permute(env.randn(dtype, 22, k, 3, 3, c), 0, 3, 1, 2) : env.randn(dtype, 22, k, c, 3, 3);
        Conv2dParams p = Conv2dParams.of(1, 1);
        DeviceClock.Timing t = env.clock().time(() -> be.conv2d(x, w, null, p), 3, 15, 20, env.caseDeadline(10));
        BenchCase.timing(o, t, 2.0 * n * k * c * 9.0 * hw * hw, 0);
    }
}
