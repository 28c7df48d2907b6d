package dev.clipvil.bench;

import dev.clipvil.tensor.Tensor;
import org.openjdk.jmh.annotations.Param;
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
 * F32 softmax over the last dim. Two shapes: [19200, 50], the attention scores of ViT-B/32 at batch 32
 * (32 images x 12 heads x 50 queries, 50 keys: short rows), and [12800, 768], long rows the size of a
 * ViT-B activation. Work: the minimum memory traffic, read x + write y = 2*numel*4 bytes.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx6g", "-Dorg.bytedeco.javacpp.nopointergc=true"})
public class SoftmaxBench extends ImplBench {
    @Param({"19200x50", "12800x768"})
    public String shape;

    private Tensor x;
    private org.bytedeco.pytorch.Tensor tx;

    static int[] rowsCols(String shape) {
        int[] d = Data.dims(shape);
        if (d.length != 2) throw new IllegalArgumentException("SoftmaxBench shape must be ROWSxCOLS, got '" + shape + "'");
        return d;
    }

    static Work work(Map<String, String> params) {
        int[] d = rowsCols(params.get("shape"));
        return Work.bytes(2.0 * d[0] * d[1] * Float.BYTES);
    }

    @Setup(Level.Trial)
    public void setUp() {
        int[] d = rowsCols(shape);
        float[] xs = Data.uniform(d[0] * d[1], 31);
        // Scores-like spread: [-8, 8).
        for (int i = 0; i < xs.length; i++) xs[i] *= 8;
        if (useTorch()) tx = Torch.of(xs, d);
        else x = Data.clip(xs, d);
    }

    @Benchmark
    public void softmax(Blackhole bh) {
        if (tx != null) {
            try (org.bytedeco.pytorch.Tensor y = torch.softmax(tx, -1)) {
                bh.consume(y);
            }
        } else {
            try (Tensor y = clip.softmax(x, -1, false)) {
                bh.consume(y);
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        Closer.close(x);
        Closer.close(tx);
    }
}
