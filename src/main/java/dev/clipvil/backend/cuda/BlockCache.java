package dev.clipvil.backend.cuda;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The bookkeeping of the device allocator, free of native code (tested on the CPU with a fake
 * {@link Raw}): requests are rounded up to size classes, freed blocks go to a per-class free list and
 * are handed out again, and only when the device is out of memory is the cache returned to CUDA and
 * the request retried. All work of a device runs on its one stream, so a block freed by one kernel's
 * owner and reused by the next allocation is ordered by the stream (no event needed).
 *
 * <p>While a CUDA graph is captured ({@link #beginCapture}), requests are served from that graph's
 * {@link PrivatePool}: its own free blocks, else blocks adopted from the global cache, else fresh
 * memory from {@link Raw#mallocCaptureSafe}. A replay writes to the same addresses, so those blocks
 * stay the pool's until the graph is destroyed ({@link #destroy}): freeing one (during or after the
 * capture) returns it to the pool, never to the global cache. A global block freed during the capture
 * may still be read by the graph before that point, so the pool holds it too until it is destroyed.
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

        /** A fresh block while a graph is captured on the stream (not stream-ordered, so not recorded in the graph); 0 when out of memory. */
        default long mallocCaptureSafe(long bytes) { return malloc(bytes); }

        /** Frees a block of {@link #mallocCaptureSafe}. */
        default void freeCaptureSafe(long ptr) { free(ptr); }
    }

    /** The memory of one captured graph: blocks its replays write to, held until the graph is destroyed. */
    static final class PrivatePool {
        final String name;
        final Map<Long, ArrayDeque<Long>> free = new HashMap<>();
        /** Global blocks freed during the capture: {ptr, size class}. */
        final List<long[]> held = new ArrayList<>();
        long owned;
        boolean destroyed;

        PrivatePool(String name) { this.name = name; }

        @Override public String toString() { return name; }
    }

    static final long MIN_BLOCK = 512;

    private final String device;
    private final Raw raw;
    private final Map<Long, ArrayDeque<Long>> free = new HashMap<>();
    private long inUse;
    private long cached;
    private long peak;
    private long rawAllocations;
    /** Bytes held by graph pools and not in use (their free blocks and the global blocks they hold). */
    private long poolIdle;
    private PrivatePool capturing;
    private final Map<Long, PrivatePool> owner = new HashMap<>();
    private final Set<Long> captureSegments = new HashSet<>();

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
        if (capturing != null) return allocatePrivate(capturing, size, bytes, what);
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

    private long allocatePrivate(PrivatePool pool, long size, long bytes, String what) {
        ArrayDeque<Long> mine = pool.free.get(size);
        long ptr;
        if (mine != null && !mine.isEmpty()) {
            ptr = mine.pop();
            poolIdle -= size;
        } else {
            ArrayDeque<Long> global = free.get(size);
            if (global != null && !global.isEmpty()) {
                ptr = global.pop();
                cached -= size;
            } else {
                ptr = raw.mallocCaptureSafe(size);
                if (ptr == 0) {
                    throw new CudaOutOfMemoryException(device + ": out of memory allocating " + bytes + " bytes (" + what + ", block of " + size
                            + ") while capturing a CUDA graph (the cache cannot be emptied during a capture); in use " + inUse + " bytes, cached "
                            + cached + " bytes, held by graphs " + poolIdle + " bytes; device " + raw.deviceMemory());
                }
                captureSegments.add(ptr);
                rawAllocations++;
            }
            owner.put(ptr, pool);
            pool.owned += size;
        }
        inUse += size;
        peak = Math.max(peak, inUse);
        return ptr;
    }

    /** Returns a block of {@code bytes} (as asked, the class is recomputed) to the cache (or to the graph pool that owns it). */
    synchronized void release(long ptr, long bytes) {
        long size = sizeClass(bytes);
        inUse -= size;
        PrivatePool pool = owner.get(ptr);
        if (pool != null) {
            pool.free.computeIfAbsent(size, k -> new ArrayDeque<>()).push(ptr);
            poolIdle += size;
            return;
        }
        if (capturing != null) {
            capturing.held.add(new long[]{ptr, size});
            poolIdle += size;
            return;
        }
        cached += size;
        free.computeIfAbsent(size, k -> new ArrayDeque<>()).push(ptr);
    }

    /** From now until {@link #endCapture}, allocations come from {@code pool}. */
    synchronized void beginCapture(PrivatePool pool) {
        if (capturing != null) throw new IllegalStateException(device + ": a CUDA graph (" + capturing + ") is being captured already");
        if (pool.destroyed) throw new IllegalStateException(device + ": graph pool " + pool + " was destroyed");
        capturing = pool;
    }

    synchronized void endCapture() { capturing = null; }

    synchronized boolean capturing() { return capturing != null; }

    /**
     * Gives a destroyed graph's memory back to the global cache: its free blocks and held blocks at
     * once, the blocks live tensors still hold when they are freed. The caller has waited for the
     * graph's last replay.
     */
    synchronized void destroy(PrivatePool pool) {
        if (pool.destroyed) return;
        if (capturing == pool) capturing = null;
        pool.destroyed = true;
        for (var e : pool.free.entrySet()) {
            for (long ptr : e.getValue()) {
                owner.remove(ptr);
                poolIdle -= e.getKey();
                cached += e.getKey();
                free.computeIfAbsent(e.getKey(), k -> new ArrayDeque<>()).push(ptr);
            }
        }
        pool.free.clear();
        for (long[] h : pool.held) {
            poolIdle -= h[1];
            cached += h[1];
            free.computeIfAbsent(h[1], k -> new ArrayDeque<>()).push(h[0]);
        }
        pool.held.clear();
        owner.values().removeIf(p -> p == pool);
    }

    /** Gives every cached block back to CUDA; returns the bytes released. Not while a graph is captured. */
    synchronized long releaseCached() {
        if (capturing != null) {
            throw new CudaGraphException(device + ": emptying the memory cache (a stream synchronisation and cudaFree) cannot be captured in a CUDA graph");
        }
        if (cached == 0) return 0;
        raw.synchronize();
        long n = cached;
        for (ArrayDeque<Long> list : free.values()) {
            while (!list.isEmpty()) {
                long ptr = list.pop();
                if (captureSegments.remove(ptr)) raw.freeCaptureSafe(ptr);
                else raw.free(ptr);
            }
        }
        free.clear();
        cached = 0;
        return n;
    }

    synchronized long inUseBytes() { return inUse; }
    synchronized long cachedBytes() { return cached; }
    synchronized long peakBytes() { return peak; }
    synchronized long rawAllocations() { return rawAllocations; }
    /** Bytes graph pools hold that no tensor uses now. */
    synchronized long graphPoolIdleBytes() { return poolIdle; }
    synchronized void resetPeak() { peak = inUse; }
}
