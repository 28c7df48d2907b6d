package dev.clipvil.ops;

/** How a loss combines its per-element values, as PyTorch's {@code reduction} argument. */
public enum Reduction {
    /** Per-element (per-row) losses, unreduced. */
    NONE,
    /** The mean (cross-entropy: over the rows that are not ignored). */
    MEAN,
    /** The sum. */
    SUM
}
