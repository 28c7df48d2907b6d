package dev.clipvil.tensor;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The CPU memory pool: exact-size free lists of primitive arrays, so that a training loop reuses its
 * activations' arrays step after step instead of churning the garbage collector. Keeps statistics
 * (bytes in use, cached, peak) that the leak tests read.
 */
public final class HostMemory {
    private static final HostMemory INSTANCE = new HostMemory(defaultCacheLimit());

    private final Map<Long, ArrayDeque<Object>> free = new HashMap<>();
    private final long cacheLimit;
    private long inUse;
    private long cached;
    private long peak;
    private long allocations;

    private HostMemory(long cacheLimit) { this.cacheLimit = cacheLimit; }

    public static HostMemory get() { return INSTANCE; }

    private static long defaultCacheLimit() {
        String s = System.getenv("CLIPVIL_HOST_CACHE_MB");
        if (s != null) return Long.parseLong(s.trim()) << 20;
        return Math.min(2L << 30, Runtime.getRuntime().maxMemory() / 4);
    }

    private static long key(DType dtype, int numel) { return ((long) dtype.ordinal() << 40) | numel; }

    synchronized HostStorage allocate(DType dtype, int numel) {
        long bytes = (long) numel * dtype.byteSize();
        Object array = null;
        ArrayDeque<Object> list = free.get(key(dtype, numel));
        if (list != null && !list.isEmpty()) {
            array = list.pop();
            cached -= bytes;
        }
        if (array == null) {
            try {
                array = newArray(dtype, numel);
            } catch (OutOfMemoryError e) {
                trim();
                try {
                    array = newArray(dtype, numel);
                } catch (OutOfMemoryError e2) {
                    throw new OutOfMemoryError("cpu: cannot allocate " + bytes + " bytes (" + numel + " x " + dtype
                            + "); in use " + inUse + " bytes by live tensors, heap max " + Runtime.getRuntime().maxMemory());
                }
            }
        }
        inUse += bytes;
        peak = Math.max(peak, inUse);
        allocations++;
        return new HostStorage(dtype, numel, array);
    }

    private static Object newArray(DType dtype, int numel) {
        switch (dtype) {
            case F32: return new float[numel];
            case F64: return new double[numel];
            case BF16: case F16: return new short[numel];
            case I32: return new int[numel];
            case I64: return new long[numel];
            case BOOL: return new byte[numel];
            default: throw new AssertionError(dtype);
        }
    }

    synchronized void recycle(DType dtype, int numel, Object array) {
        long bytes = (long) numel * dtype.byteSize();
        inUse -= bytes;
        if (array == null || cached + bytes > cacheLimit) return;
        free.computeIfAbsent(key(dtype, numel), k -> new ArrayDeque<>()).push(array);
        cached += bytes;
    }

    /** Drops every cached array (they become garbage). */
    public synchronized void trim() {
        free.clear();
        cached = 0;
    }

    /** Bytes held by live storages. */
    public synchronized long inUseBytes() { return inUse; }
    /** Bytes kept in the free lists for reuse. */
    public synchronized long cachedBytes() { return cached; }
    public synchronized long peakBytes() { return peak; }
    public synchronized long allocationCount() { return allocations; }
    public synchronized void resetPeak() { peak = inUse; }

    @Override
    public synchronized String toString() {
        return String.format("host memory: in use %.1f MiB, cached %.1f MiB, peak %.1f MiB",
                inUse / 1048576.0, cached / 1048576.0, peak / 1048576.0);
    }
}
