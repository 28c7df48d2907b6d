package dev.clipvil.backend;

/** A device pool's bytes in use by live tensors, cached for reuse, and the peak in use. */
public record MemoryStats(long inUseBytes, long cachedBytes, long peakBytes) {}
