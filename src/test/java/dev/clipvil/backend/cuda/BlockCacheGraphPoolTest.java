package dev.clipvil.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The allocator's CUDA graph pools: addresses a captured graph writes to are never handed to anyone else until it is destroyed. */
class BlockCacheGraphPoolTest {
    /** A fake device that tells stream-ordered blocks from capture-safe ones. */
    static final class Fake implements BlockCache.Raw {
        long next = 1 << 20;
        int mallocs, captureMallocs, frees, captureFrees;

        @Override public long malloc(long bytes) { mallocs++; long p = next; next += bytes; return p; }
        @Override public void free(long ptr) { frees++; }
        @Override public void synchronize() {}
        @Override public String deviceMemory() { return "fake"; }
        @Override public long mallocCaptureSafe(long bytes) { captureMallocs++; long p = next; next += bytes; return p; }
        @Override public void freeCaptureSafe(long ptr) { captureFrees++; }
    }

    @Test
    void captureTakesCachedBlocksThenFreshOnesAndKeepsThem() {
        Fake raw = new Fake();
        BlockCache c = new BlockCache("fake", raw);
        long a = c.allocate(1000, "eager");
        c.release(a, 1000);                               // cached globally
        BlockCache.PrivatePool pool = new BlockCache.PrivatePool("g");
        c.beginCapture(pool);
        long p1 = c.allocate(1000, "captured");
        assertEquals(a, p1, "a cached block of the class is adopted by the graph");
        long p2 = c.allocate(1000, "captured");
        assertEquals(1, raw.captureMallocs, "no cached block left: fresh memory, capture-safe");
        assertEquals(1, raw.mallocs, "never the stream-ordered allocator during a capture");
        c.release(p2, 1000);
        assertEquals(p2, c.allocate(1000, "captured again"), "blocks freed during the capture are reused within it");
        c.endCapture();

        c.release(p1, 1000);
        long eager = c.allocate(1000, "eager after");
        assertNotEquals(p1, eager, "a graph's block freed after the capture is not handed to eager work");
        assertTrue(c.graphPoolIdleBytes() > 0);
        c.release(eager, 1000);

        c.destroy(pool);
        assertEquals(0, c.graphPoolIdleBytes());
        c.release(p2, 1000);                              // a block still held by a tensor goes to the global cache once the graph is gone
        assertEquals(0, c.inUseBytes());
        long freed = c.releaseCached();
        assertEquals(3 * BlockCache.sizeClass(1000), freed);
        assertEquals(1, raw.captureFrees, "the capture-safe block goes back with cudaFree");
        assertEquals(2, raw.frees);
    }

    @Test
    void aGlobalBlockFreedDuringTheCaptureIsHeldUntilTheGraphIsDestroyed() {
        Fake raw = new Fake();
        BlockCache c = new BlockCache("fake", raw);
        long old = c.allocate(4096, "previous step's gradient");
        BlockCache.PrivatePool pool = new BlockCache.PrivatePool("g");
        c.beginCapture(pool);
        c.release(old, 4096);                             // the graph may read it before this point on every replay
        long fresh = c.allocate(4096, "new gradient");
        assertNotEquals(old, fresh);
        c.endCapture();
        long eager = c.allocate(4096, "eager");
        assertNotEquals(old, eager, "held by the graph");
        c.destroy(pool);
        assertEquals(old, c.allocate(4096, "after destroy"), "back in the global cache");
    }

    @Test
    void emptyingTheCacheOrNestingCapturesFails() {
        BlockCache c = new BlockCache("fake", new Fake());
        c.release(c.allocate(100, "x"), 100);
        c.beginCapture(new BlockCache.PrivatePool("g"));
        CudaGraphException e = assertThrows(CudaGraphException.class, c::releaseCached);
        assertTrue(e.getMessage().contains("cannot be captured"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> c.beginCapture(new BlockCache.PrivatePool("h")));
        c.endCapture();
        assertEquals(BlockCache.MIN_BLOCK, c.releaseCached());
    }
}
