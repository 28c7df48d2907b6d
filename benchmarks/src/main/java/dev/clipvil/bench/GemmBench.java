package dev.clipvil.bench;

import dev.clipvil.tensor.Tensor;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.Blackhole;

/**
 * F32 GEMM C[M,N] = A[M,K] B[K,N], both operands contiguous. {@code shape} is a square size n, or
 * MxKxN: 12800x768x3072 is the ViT-B MLP up-projection, a [12800, 768] activation (e.g. 256 images x 50
 * tokens of ViT-B/32) times a [768, 3072] weight. Work: 2*M*N*K flops.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx6g", "-Dorg.bytedeco.javacpp.nopointergc=true"})
public class GemmBench extends ImplBench {
    @Param({"256", "512", "1024", "2048", "12800x768x3072"})
    public String shape;

    private Tensor a, b;
    private org.bytedeco.pytorch.Tensor ta, tb;

    /** {M, K, N} of a shape parameter. */
    static int[] mkn(String shape) {
        int[] d = Data.dims(shape);
        if (d.length == 1) return new int[] {d[0], d[0], d[0]};
        if (d.length == 3) return d;
        throw new IllegalArgumentException("GemmBench shape must be n or MxKxN, got '" + shape + "'");
    }

    static Work work(Map<String, String> params) {
        int[] s = mkn(params.get("shape"));
        return Work.flops(2.0 * s[0] * s[1] * s[2]);
    }

    @Setup(Level.Trial)
    public void setUp() {
        int[] s = mkn(shape);
        int m = s[0], k = s[1], n = s[2];
        float[] x = Data.uniform(m * k, 1), y = Data.uniform(k * n, 2);
        if (useTorch()) {
            ta = Torch.of(x, m, k);
            tb = Torch.of(y, k, n);
        } else {
            a = Data.clip(x, m, k);
            b = Data.clip(y, k, n);
        }
    }

    @Benchmark
    public void gemm(Blackhole bh) {
        if (ta != null) {
            try (org.bytedeco.pytorch.Tensor c = org.bytedeco.pytorch.global.torch.mm(ta, tb)) {
                bh.consume(c);
            }
        } else {
            try (Tensor c = clip.matmul(a, b, null)) {
                bh.consume(c);
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        Closer.close(a, b);
        Closer.close(ta, tb);
    }
}
