package dev.clipvil.bench;

import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.tensor.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.Blackhole;
import org.bytedeco.pytorch.global.torch;

/**
 * F32 conv2d forward, NCHW: x [8, 64, 56, 56] with a 3x3 weight [64, 64, 3, 3], stride 1, padding 1, no
 * bias (a ResNet stage-1 convolution at batch 8). Work: 2*N*K*OH*OW*C*R*S flops.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx6g", "-Dorg.bytedeco.javacpp.nopointergc=true"})
public class Conv2dBench extends ImplBench {
    static final int N = 8, C = 64, K = 64, H = 56, W = 56, R = 3, S = 3, STRIDE = 1, PAD = 1;

    private Tensor x, w;
    private final Conv2dParams params = Conv2dParams.of(STRIDE, PAD);
    private org.bytedeco.pytorch.Tensor tx, tw;
    private TensorOptional noBias;
    private final long[] stride = {STRIDE, STRIDE}, padding = {PAD, PAD}, dilation = {1, 1};

    static Work work(Map<String, String> params) {
        int oh = (H + 2 * PAD - R) / STRIDE + 1, ow = (W + 2 * PAD - S) / STRIDE + 1;
        return Work.flops(2.0 * N * K * oh * ow * C * R * S);
    }

    @Setup(Level.Trial)
    public void setUp() {
        float[] xs = Data.uniform(N * C * H * W, 11), ws = Data.uniform(K * C * R * S, 12);
        if (useTorch()) {
            tx = Torch.of(xs, N, C, H, W);
            tw = Torch.of(ws, K, C, R, S);
            noBias = new TensorOptional();
        } else {
            x = Data.clip(xs, N, C, H, W);
            w = Data.clip(ws, K, C, R, S);
        }
    }

    @Benchmark
    public void conv2d(Blackhole bh) {
        if (tx != null) {
            try (org.bytedeco.pytorch.Tensor y = torch.conv2d(tx, tw, noBias, stride, padding, dilation, 1)) {
                bh.consume(y);
            }
        } else {
            try (Tensor y = clip.conv2d(x, w, null, params)) {
                bh.consume(y);
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        Closer.close(x, w);
        Closer.close(tx, tw, noBias);
    }
}
