package dev.clipvil.backend.cuda;

import dev.clipvil.backend.MemoryStats;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * A device's memory: a {@link BlockCache} of size classes over {@code cudaMallocAsync}/{@code cudaFreeAsync}
 * on the device's stream. Statistics feed {@code Backend.memoryStats()}; out of memory is a
 * {@link CudaOutOfMemoryException} saying what was asked, what live tensors hold and what is cached.
 */
public final class CudaMemory {
    private final CudaContext ctx;
    private final BlockCache cache;

    CudaMemory(CudaContext ctx) {
        this.ctx = ctx;
        this.cache = new BlockCache(ctx.device().toString(), new Raw());
    }

    CudaMemory(CudaContext ctx, BlockCache.Raw raw) {
        this.ctx = ctx;
        this.cache = new BlockCache(ctx.device().toString(), raw);
    }

    long allocate(long bytes, String what) {
        if (bytes == 0) return 0;
        ctx.makeCurrent();
        long ptr = cache.allocate(bytes, what);
        if (poison && !ctx.dryRun()) {
            int err = cudart.cudaMemsetAsync(poisonPtr.at(ptr), 0xFF, bytes, ctx.stream());
            if (err != 0) CudaCheck.rt(err, "cudaMemsetAsync(poison " + bytes + " bytes)");
        }
        return ptr;
    }

    /**
     * Fills every new allocation with 0xFF bytes (NaN in F32, BF16 and F16) so that a kernel that
     * leaves part of its output unwritten shows up as NaN in the parity tests. Env CLIPVIL_CUDA_POISON=1.
     */
    public static void setPoison(boolean on) { poison = on; }

    private static volatile boolean poison = "1".equals(System.getenv("CLIPVIL_CUDA_POISON"));
    private final RawPointer poisonPtr = new RawPointer();

    void release(long ptr, long bytes) {
        if (ptr != 0) cache.release(ptr, bytes);
    }

    /** Returns the cached blocks to CUDA (e.g. before handing the GPU to another program). */
    public long emptyCache() {
        ctx.makeCurrent();
        return cache.releaseCached();
    }

    /** In use by live tensors; cached (free blocks, including those CUDA graphs hold for their replays); peak in use. */
    public MemoryStats stats() { return new MemoryStats(cache.inUseBytes(), cache.cachedBytes() + cache.graphPoolIdleBytes(), cache.peakBytes()); }

    /** Blocks taken from the device (not from the cache) so far: flat while a captured graph replays. */
    public long rawAllocations() { return cache.rawAllocations(); }

    void beginCapture(BlockCache.PrivatePool pool) { cache.beginCapture(pool); }

    void endCapture() { cache.endCapture(); }

    void destroy(BlockCache.PrivatePool pool) { cache.destroy(pool); }

    public void resetPeak() { cache.resetPeak(); }

    private final class Raw implements BlockCache.Raw {
        private final RawPointer out = new RawPointer();
        private final RawPointer freed = new RawPointer(); // calls come under the BlockCache's lock

        @Override
        public long malloc(long bytes) {
            int err = cudart.cudaMallocAsync(out.at(0), bytes, ctx.stream());
            if (err == cudart.cudaErrorMemoryAllocation) {
                cudart.cudaGetLastError(); // not sticky, but clear it so later checks do not see it
                return 0;
            }
            CudaCheck.rt(err, "cudaMallocAsync(" + bytes + " bytes) on " + ctx.device());
            return out.address();
        }

        @Override
        public void free(long ptr) {
            CudaCheck.rt(cudart.cudaFreeAsync(freed.at(ptr), ctx.stream()), "cudaFreeAsync on " + ctx.device());
        }

        @Override
        public void synchronize() { ctx.synchronize(); }

        /**
         * {@code cudaMalloc}, not the stream-ordered {@code cudaMallocAsync} (which a capture would record
         * as a graph node): the thread's capture mode is relaxed around the call, as CUDA documents for
         * allocators that must take memory while a capture is under way.
         */
        @Override
        public long mallocCaptureSafe(long bytes) {
            int[] mode = {cudart.cudaStreamCaptureModeRelaxed};
            CudaCheck.rt(cudart.cudaThreadExchangeStreamCaptureMode(mode), "cudaThreadExchangeStreamCaptureMode(relaxed)");
            int err;
            try {
                err = cudart.cudaMalloc(out.at(0), bytes);
            } finally {
                CudaCheck.rt(cudart.cudaThreadExchangeStreamCaptureMode(mode), "cudaThreadExchangeStreamCaptureMode(restore)");
            }
            if (err == cudart.cudaErrorMemoryAllocation) {
                cudart.cudaGetLastError();
                return 0;
            }
            CudaCheck.rt(err, "cudaMalloc(" + bytes + " bytes) for a CUDA graph's pool on " + ctx.device());
            return out.address();
        }

        @Override
        public void freeCaptureSafe(long ptr) {
            CudaCheck.rt(cudart.cudaFree(new RawPointer(ptr)), "cudaFree (a CUDA graph pool's block) on " + ctx.device());
        }

        @Override
        public String deviceMemory() {
            try (SizeTPointer free = new SizeTPointer(1); SizeTPointer total = new SizeTPointer(1)) {
                int err = cudart.cudaMemGetInfo(free, total);
                if (err != 0) return "memory unknown (cudaMemGetInfo: " + CudaCheck.rtMessage(err) + ")";
                return "free " + free.get() + " of " + total.get() + " bytes";
            }
        }
    }
}
