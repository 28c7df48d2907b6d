package dev.clipvil.nn;

import dev.clipvil.backend.HostSeeds;
import dev.clipvil.tensor.Tensor;

/**
 * Inverted dropout with probability {@code p} in training mode, identity in eval mode. Each module
 * draws a base seed from its {@link Init} stream when built and mixes in a counter of its
 * training-mode calls, so masks differ between calls and layers yet a run is reproducible from the seed.
 * The seed is drawn through {@link HostSeeds#draw}: a training step captured in a CUDA graph draws it
 * again before every replay (the counter advancing as in an eager step), so replays get fresh masks,
 * the very ones the eager steps would have used.
 */
public class Dropout extends Layer {
    private final double p;
    private final long baseSeed;
    private long calls;

    public Dropout(double p) { this(p, Init.global()); }

    public Dropout(double p, Init init) {
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("Dropout: p must be in [0, 1], got " + p);
        this.p = p;
        this.baseSeed = init.nextSeed();
    }

    @Override
    public Tensor forward(Tensor x) {
        boolean on = isTraining() && p > 0;
        long seed = on ? HostSeeds.draw(this::nextSeed) : 0;
        return dev.clipvil.ops.Dropout.dropout(x, p, on, seed);
    }

    /** Counts a training-mode call and returns its mask seed. */
    private long nextSeed() { return seedOfCall(++calls); }

    /** The mask seed of training-mode call {@code call} (the first call is 1). */
    public long seedOfCall(long call) { return mix(baseSeed + 0x9E3779B97F4A7C15L * call); }

    public double p() { return p; }

    /** Training-mode calls so far (the next mask's counter is this plus one). */
    public long calls() { return calls; }

    /** Restores the call counter (resuming a run with the same masks). */
    public void setCalls(long calls) { this.calls = calls; }

    /** SplitMix64's finaliser: neighbouring counters give unrelated seeds. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
