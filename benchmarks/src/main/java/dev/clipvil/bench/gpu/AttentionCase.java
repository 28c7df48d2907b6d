package dev.clipvil.bench.gpu;

import com.google.gson.JsonObject;
import dev.clipvil.backend.AttentionResult;
import dev.clipvil.backend.Backend;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;

import java.util.List;

/**
 * Fused attention through {@link Backend#attention} and {@link Backend#attentionBackward}: q, k, v
 * [B, H, S, D], no mask, not causal, scale 1/sqrt(D). Forward alone and forward+backward. FLOP as in
 * the PyTorch baseline: forward 4·B·H·S²·D, forward+backward 3.5 times that.
 */
final class AttentionCase implements BenchCase {
    @Override public String name() { return "attention"; }

    @Override
    public void run(Env env, List<JsonObject> out) {
        boolean full = env.scale() == Scale.FULL;
        int b = full ? 256 : 2, h = full ? 12 : 2, d = full ? 64 : 16;
        int[] seqs = full ? new int[] {50, 197} : new int[] {5, 9};
        DType dtype = full ? DType.BF16 : DType.F32;
        for (int s : seqs) {
            for (boolean backward : new boolean[] {false, true}) {
                String variant = "B" + b + "_H" + h + "_S" + s + "_D" + d + (backward ? "_fwdbwd" : "_fwd");
                JsonObject o = BenchCase.result("attention", variant, dtype.name());
                try {
                    BenchCase.scoped(() -> measure(env, o, b, h, s, d, dtype, backward));
                } catch (RuntimeException | Error e) {
                    BenchCase.failed(o, e);
                }
                out.add(o);
            }
        }
    }

    private static void measure(Env env, JsonObject o, int b, int h, int s, int d, DType dtype, boolean backward) {
        Backend be = env.backend();
        Tensor q = env.randn(dtype, 1, b, h, s, d), k = env.randn(dtype, 2, b, h, s, d), v = env.randn(dtype, 3, b, h, s, d);
        Tensor g = env.randn(dtype, 4, b, h, s, d);
        double scale = 1 / Math.sqrt(d);
        Runnable body = backward
                ? () -> {
                    AttentionResult r = be.attention(q, k, v, null, false, scale);
                    be.attentionBackward(g, q, k, v, r.out(), r.lse(), null, false, scale);
                }
                : () -> be.attention(q, k, v, null, false, scale);
        DeviceClock.Timing t = env.clock().time(body, 3, 15, 20, env.caseDeadline(25));
        double flop = 4.0 * b * h * (double) s * s * d * (backward ? 3.5 : 1);
        BenchCase.timing(o, t, flop, 0);
    }
}
