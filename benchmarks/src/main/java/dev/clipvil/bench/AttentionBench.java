package dev.clipvil.bench;

import dev.clipvil.backend.AttentionResult;
import dev.clipvil.tensor.Tensor;
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
 * F32 scaled-dot-product attention forward, no mask, not causal, scale 1/sqrt(D): q, k, v [32, 12, 50, 64]
 * (ViT-B/32 self-attention at batch 32). libtorch: scaled_dot_product_attention. The engine also
 * returns the per-row log-sum-exp (its backward needs it). Work: the two matmuls, 4*B*H*S*S*D flops.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx6g", "-Dorg.bytedeco.javacpp.nopointergc=true"})
public class AttentionBench extends ImplBench {
    static final int B = 32, H = 12, S = 50, D = 64;
    static final double SCALE = 1.0 / Math.sqrt(D);

    private Tensor q, k, v;
    private org.bytedeco.pytorch.Tensor tq, tk, tv;

    static Work work(Map<String, String> params) {
        return Work.flops(4.0 * B * H * S * S * D);
    }

    @Setup(Level.Trial)
    public void setUp() {
        int n = B * H * S * D;
        float[] qs = Data.uniform(n, 41), ks = Data.uniform(n, 42), vs = Data.uniform(n, 43);
        if (useTorch()) {
            tq = Torch.of(qs, B, H, S, D);
            tk = Torch.of(ks, B, H, S, D);
            tv = Torch.of(vs, B, H, S, D);
        } else {
            q = Data.clip(qs, B, H, S, D);
            k = Data.clip(ks, B, H, S, D);
            v = Data.clip(vs, B, H, S, D);
        }
    }

    @Benchmark
    public void attention(Blackhole bh) {
        if (tq != null) {
            try (org.bytedeco.pytorch.Tensor y = torch.scaled_dot_product_attention(tq, tk, tv)) {
                bh.consume(y);
            }
        } else {
            AttentionResult r = clip.attention(q, k, v, null, false, SCALE);
            bh.consume(r.out());
            Closer.close(r.out(), r.lse());
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        Closer.close(q, k, v);
        Closer.close(tq, tk, tv);
    }
}
