package dev.clipvil.nn;

import dev.clipvil.backend.Backends;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.SplittableRandom;

/**
 * Parameter initialisers with PyTorch's default formulas, drawing from a seeded stream so that a
 * model built twice from the same seed gets the same values. Each fill takes the next seed of the
 * stream: the values depend on the seed and on the order in which parameters are initialised.
 * Layers take an {@code Init}; those built without one use {@link #global()}, which
 * {@link #manualSeed} resets (like {@code torch.manual_seed}).
 */
public final class Init {
    private static volatile Init global = new Init(0);

    private final SplittableRandom seeds;

    public Init(long seed) { this.seeds = new SplittableRandom(seed); }

    /** The shared default stream. */
    public static Init global() { return global; }

    /** Restarts the shared default stream from {@code seed}. */
    public static void manualSeed(long seed) { global = new Init(seed); }

    /** The next seed of this stream (for fills, and for modules that need their own random stream, like dropout). */
    public synchronized long nextSeed() { return seeds.nextLong(); }

    /** A new F32 parameter-sized tensor owned by the caller (outside every memory scope), uninitialised. */
    public static Tensor empty(int... shape) { return MemoryScope.detach(Tensor.empty(DType.F32, shape)); }

    public void uniform(Tensor t, double lo, double hi) { Backends.of(t).fillUniform(t, lo, hi, nextSeed()); }

    public void normal(Tensor t, double mean, double std) { Backends.of(t).fillNormal(t, mean, std, nextSeed()); }

    public static void constant(Tensor t, double value) { Backends.of(t).fill(t, value); }

    public static void zeros(Tensor t) { constant(t, 0); }

    public static void ones(Tensor t) { constant(t, 1); }

    /**
     * {@code kaiming_uniform_(w, a)} with fan-in mode and the leaky-ReLU gain: U(-b, b) with
     * b = sqrt(6 / ((1 + a^2) fan_in)). PyTorch's Linear and Conv2d use a = sqrt(5), i.e. b = 1/sqrt(fan_in).
     */
    public void kaimingUniform(Tensor w, double a) {
        int fanIn = fanIn(w.shape());
        double bound = Math.sqrt(6.0 / ((1 + a * a) * fanIn));
        uniform(w, -bound, bound);
    }

    /** {@code xavier_uniform_(w, gain)}: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)). */
    public void xavierUniform(Tensor w, double gain) {
        int[] s = w.shape();
        double bound = gain * Math.sqrt(6.0 / (fanIn(s) + fanOut(s)));
        uniform(w, -bound, bound);
    }

    public void xavierUniform(Tensor w) { xavierUniform(w, 1.0); }

    /** PyTorch's default bias of Linear/Conv: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (fan_in of the weight). */
    public void fanInUniform(Tensor bias, int fanIn) {
        double bound = fanIn > 0 ? 1.0 / Math.sqrt(fanIn) : 0;
        uniform(bias, -bound, bound);
    }

    /** Input features times the receptive field (dims 2..), as {@code torch.nn.init._calculate_fan_in_and_fan_out}. */
    public static int fanIn(int[] shape) {
        requireMatrix(shape);
        return shape[1] * receptive(shape);
    }

    public static int fanOut(int[] shape) {
        requireMatrix(shape);
        return shape[0] * receptive(shape);
    }

    private static int receptive(int[] shape) {
        int r = 1;
        for (int i = 2; i < shape.length; i++) r *= shape[i];
        return r;
    }

    private static void requireMatrix(int[] shape) {
        if (shape.length < 2) throw new ShapeException("init: fan in/out needs a tensor of rank >= 2, got " + Shapes.str(shape));
    }
}
