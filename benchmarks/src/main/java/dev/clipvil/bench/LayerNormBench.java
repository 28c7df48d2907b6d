package dev.clipvil.bench;

import dev.clipvil.backend.NormResult;
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
 * F32 layer norm forward over the last dim of x [12800, 768] (ViT-B activations, e.g. 256 images x 50
 * tokens) with weight and bias [768], eps 1e-5. The engine also returns the per-row mean and rstd (its
 * backward needs them); libtorch computes them too inside native_layer_norm. Work: the minimum memory
 * traffic, read x + write y (+ weight and bias) = (2*rows*C + 2*C)*4 bytes.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx6g", "-Dorg.bytedeco.javacpp.nopointergc=true"})
public class LayerNormBench extends ImplBench {
    static final int ROWS = 12800, C = 768;
    static final double EPS = 1e-5;

    private Tensor x, w, b;
    private org.bytedeco.pytorch.Tensor tx;
    private TensorOptional tw, tb;
    private final long[] normalized = {C};

    static Work work(Map<String, String> params) {
        return Work.bytes((2.0 * ROWS * C + 2.0 * C) * Float.BYTES);
    }

    @Setup(Level.Trial)
    public void setUp() {
        float[] xs = Data.uniform(ROWS * C, 21), ws = Data.uniform(C, 22), bs = Data.uniform(C, 23);
        if (useTorch()) {
            tx = Torch.of(xs, ROWS, C);
            try (org.bytedeco.pytorch.Tensor w0 = Torch.of(ws, C); org.bytedeco.pytorch.Tensor b0 = Torch.of(bs, C)) {
                tw = new TensorOptional(w0); // the optional holds its own reference
                tb = new TensorOptional(b0);
            }
        } else {
            x = Data.clip(xs, ROWS, C);
            w = Data.clip(ws, C);
            b = Data.clip(bs, C);
        }
    }

    @Benchmark
    public void layerNorm(Blackhole bh) {
        if (tx != null) {
            try (org.bytedeco.pytorch.Tensor y = torch.layer_norm(tx, normalized, tw, tb, EPS, false)) {
                bh.consume(y);
            }
        } else {
            NormResult r = clip.layerNorm(x, w, b, EPS);
            bh.consume(r.out());
            Closer.close(r.out(), r.mean(), r.rstd());
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        Closer.close(x, w, b);
        Closer.close(tx, tw, tb);
    }
}
