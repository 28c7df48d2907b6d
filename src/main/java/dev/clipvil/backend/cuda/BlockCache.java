package dev.clipvil.backend.cuda;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The bookkeeping of the device allocator, free of native code (tested on the CPU with a fake
 * {@link Raw}): requests are rounded up to size classes, freed blocks go to a per-class free list and
 * are handed out again, and only when the device is out of memory is the cache returned to CUDA and
 * the request retried. All work of a device runs on its one stream, so a block freed by one kernel's
 * owner and reused by the next allocation is ordered by the stream (no event needed).
 */
final class BlockCache {
    /** The raw device allocator under the cache. */
    interface Raw {
        /** A fresh block, or 0 when the device is out of memory. */
        long malloc(long bytes);

        void free(long ptr);

        /** Waits for the work that may still use cached blocks before they go back to CUDA. */
        void synchronize();

        /** Free and total device bytes, for messages. */
        String deviceMemory();
    }

    static final long MIN_BLOCK = 512;

    private final String device;
    private final Raw raw;
    private final Map<Long, ArrayDeque<Long>> free = new HashMap<>();
    private long inUse;
    private long cached;
    private long peak;
    private long rawAllocations;

    BlockCache(String device, Raw raw) {
        this.device = device;
        this.raw = raw;
    }

    /**
     * The block size that serves a request of {@code bytes}: at least 512 bytes, then multiples of a
     * quarter of the request's highest power of two (so at most 25% over the request), and never
     * below 512-byte granularity (every block stays 512-byte aligned relative to CUDA's 256).
     */
    static long sizeClass(long bytes) {
        if (bytes <= MIN_BLOCK) return MIN_BLOCK;
        long g = Math.max(MIN_BLOCK, Long.highestOneBit(bytes) >> 2);
        return (bytes + g - 1) / g * g;
    }

    /** A block of at least {@code bytes}; {@code what} describes the request for the out-of-memory message. */
    synchronized long allocate(long bytes, String what) {
        long size = sizeClass(bytes);
        ArrayDeque<Long> list = free.get(size);
        long ptr;
        if (list != null && !list.isEmpty()) {
            ptr = list.pop();
            cached -= size;
        } else {
            ptr = raw.malloc(size);
            if (ptr == 0 && cached > 0) {
                releaseCached();
                ptr = raw.malloc(size);
            }
            if (ptr == 0) {
                throw new CudaOutOfMemoryException(device + ": out of memory allocating " + bytes + " bytes (" + what + ", block of "
                        + size + "); in use " + inUse + " bytes by live tensors, cached " + cached + " bytes, peak " + peak
                        + " bytes; device " + raw.deviceMemory());
            }
            rawAllocations++;
        }
        inUse += size;
        peak = Math.max(peak, inUse);
        return ptr;
    }

    /** Returns a block of {@code bytes} (as asked, the class is recomputed) to the cache. */
    synchronized void release(long ptr, long bytes) {
        long size = sizeClass(bytes);
        inUse -= size;
        cached += size;
        free.computeIfAbsent(size, k -> new ArrayDeque<>()).push(ptr);
    }

    /** Gives every cached block back to CUDA; returns the bytes released. */
    synchronized long releaseCached() {
        if (cached == 0) return 0;
        raw.synchronize();
        long n = cached;
        for (ArrayDeque<Long> list : free.values()) {
            while (!list.isEmpty()) raw.free(list.pop());
        }
        free.clear();
        cached = 0;
        return n;
    }

    synchronized long inUseBytes() { return inUse; }
    synchronized long cachedBytes() { return cached; }
    synchronized long peakBytes() { return peak; }
    synchronized long rawAllocations() { return rawAllocations; }
    synchronized void resetPeak() { peak = inUse; }
}
