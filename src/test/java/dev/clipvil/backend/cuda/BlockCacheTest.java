package dev.clipvil.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The device allocator's bookkeeping, over a fake device with a fixed capacity. */
class BlockCacheTest {
    static final class FakeDevice implements BlockCache.Raw {
        final long capacity;
        long used;
        long next = 1 << 20;
        int mallocs, frees, syncs;
        final List<Long> live = new ArrayList<>();
        final java.util.Map<Long, Long> sizes = new java.util.HashMap<>();

        FakeDevice(long capacity) { this.capacity = capacity; }

        @Override public long malloc(long bytes) {
            if (used + bytes > capacity) return 0;
            used += bytes;
            mallocs++;
            long p = next;
            next += bytes + 256;
            sizes.put(p, bytes);
            live.add(p);
            return p;
        }

        @Override public void free(long ptr) {
            frees++;
            used -= sizes.remove(ptr);
            live.remove(ptr);
        }

        @Override public void synchronize() { syncs++; }

        @Override public String deviceMemory() { return "free " + (capacity - used) + " of " + capacity + " bytes"; }
    }

    @Test
    void sizeClassesBoundTheWaste() {
        assertEquals(512, BlockCache.sizeClass(1));
        assertEquals(512, BlockCache.sizeClass(512));
        assertEquals(1024, BlockCache.sizeClass(513));
        assertEquals(1 << 20, BlockCache.sizeClass(1 << 20));
        assertEquals((1 << 20) + (1 << 18), BlockCache.sizeClass((1 << 20) + 1));
        for (long b = 1; b < (1L << 34); b = b * 3 + 7) {
            long c = BlockCache.sizeClass(b);
            assertTrue(c >= b && c % 512 == 0, b + " -> " + c);
            if (b > 4096) assertTrue(c <= b * 1.25 + 1, b + " -> " + c);
        }
    }

    @Test
    void freedBlocksAreReusedAndCounted() {
        FakeDevice dev = new FakeDevice(1 << 30);
        BlockCache c = new BlockCache("cuda:0", dev);
        long a = c.allocate(1000, "a");
        long b = c.allocate(3000, "b");
        assertEquals(1024 + 3072, c.inUseBytes());
        c.release(a, 1000);
        assertEquals(1024, c.cachedBytes());
        assertEquals(3072, c.inUseBytes());
        long a2 = c.allocate(900, "a2"); // same class as 1000
        assertEquals(a, a2);
        assertEquals(2, dev.mallocs);
        assertEquals(0, c.cachedBytes());
        assertEquals(1024 + 3072, c.peakBytes());
        c.release(a2, 900);
        c.release(b, 3000);
        assertEquals(0, c.inUseBytes());
        assertEquals(1024 + 3072, c.cachedBytes());
        assertEquals(1024 + 3072, c.releaseCached());
        assertEquals(0, c.cachedBytes());
        assertEquals(2, dev.frees);
        assertEquals(1, dev.syncs);
        assertEquals(0, dev.used);
    }

    @Test
    void outOfMemoryReleasesTheCacheThenRetries() {
        FakeDevice dev = new FakeDevice(4096);
        BlockCache c = new BlockCache("cuda:0", dev);
        long a = c.allocate(2048, "a");
        c.release(a, 2048);
        long b = c.allocate(3000, "b"); // 3072: does not fit next to the cached 2048 block
        assertEquals(1, dev.frees);
        assertEquals(3072, c.inUseBytes());
        assertEquals(0, c.cachedBytes());
        c.release(b, 3000);
    }

    @Test
    void outOfMemorySaysWhatWasAskedAndWhatIsHeld() {
        FakeDevice dev = new FakeDevice(8192);
        BlockCache c = new BlockCache("cuda:0", dev);
        c.allocate(4096, "held");
        CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class, () -> c.allocate(6000, "1500 x F32"));
        String m = e.getMessage();
        assertTrue(m.contains("cuda:0: out of memory allocating 6000 bytes (1500 x F32"), m);
        assertTrue(m.contains("in use 4096 bytes"), m);
        assertTrue(m.contains("cached 0 bytes"), m);
        assertTrue(m.contains("free 4096 of 8192 bytes"), m);
        assertEquals(4096, c.inUseBytes());
    }
}
