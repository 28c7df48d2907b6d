package dev.clipvil.backend;

import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Seeds a caller draws on the host for a device's random kernels (dropout masks), drawn so that a
 * captured CUDA graph can draw them again. A caller with a per-call seed rule (nn.Dropout: a base seed
 * mixed with a call counter it increments) draws each seed with {@link #draw}, passing the rule itself.
 * Eagerly that is just {@code next.getAsLong()}. While a graph is captured on this thread the capture
 * keeps {@code next} too, and before each replay calls it again, in capture order: the caller's
 * counter moves on as in an eager step (so checkpoints and resumed runs see the same counts), and the
 * seeds it returns go to the device slots the captured kernels read, so each replay draws the masks
 * the eager step would have drawn. A seed the backend gets that was not drawn here (a constant) would
 * be frozen into the graph; the CUDA backend refuses to capture such a mask.
 */
public final class HostSeeds {
    /** What a capture does with each draw: {@code seed} is the value drawn now, {@code next} draws the next one. */
    public interface Recorder {
        void drawn(long seed, LongSupplier next);
    }

    private static final ThreadLocal<Recorder> RECORDER = new ThreadLocal<>();

    private HostSeeds() {}

    /** The next seed of {@code next}, handed to this thread's recorder too when there is one. */
    public static long draw(LongSupplier next) {
        Objects.requireNonNull(next, "next");
        long seed = next.getAsLong();
        Recorder r = RECORDER.get();
        if (r != null) r.drawn(seed, next);
        return seed;
    }

    /** Makes {@code r} this thread's recorder (null: none); returns the one it replaces. */
    public static Recorder record(Recorder r) {
        Recorder before = RECORDER.get();
        if (r == null) RECORDER.remove();
        else RECORDER.set(r);
        return before;
    }
}
