package dev.clipvil.tensor;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;


/**
 * A reference-counted block of elements on one device. Tensors (and views) each hold one reference;
 * when the last is released the memory goes back to its device's pool. Memory is never left to the
 * garbage collector to reclaim: {@link MemoryScope} closes what a step allocated.
 */
public abstract class Storage {
    /** Allocators for devices other than the CPU register here (the CUDA backend does). */
    private static final Map<Device.Kind, Allocator> ALLOCATORS = new ConcurrentHashMap<>();

    /** Makes storages for one kind of device. */
    public interface Allocator {
        Storage allocate(Device device, DType dtype, int numel);
    }

    public static void registerAllocator(Device.Kind kind, Allocator allocator) {
        ALLOCATORS.put(kind, allocator);
    }

    /** Uninitialised storage of {@code numel} elements. */
    public static Storage allocate(Device device, DType dtype, int numel) {
        if (numel < 0) throw new IllegalArgumentException("negative element count " + numel);
        if (device.kind() == Device.Kind.CPU) return HostMemory.get().allocate(dtype, numel);
        Allocator a = ALLOCATORS.get(device.kind());
        if (a == null) throw new IllegalStateException("no backend is available for device " + device);
        return a.allocate(device, dtype, numel);
    }

    private final DType dtype;
    private final int numel;
    private final Device device;
    private int refs;

    protected Storage(DType dtype, int numel, Device device) {
        this.dtype = dtype;
        this.numel = numel;
        this.device = device;
    }

    public final DType dtype() { return dtype; }
    public final int numel() { return numel; }
    public final Device device() { return device; }
    public final long bytes() { return (long) numel * dtype.byteSize(); }

    final synchronized void retain() {
        if (refs < 0) throw new IllegalStateException("storage already freed");
        refs++;
    }

    final synchronized void release() {
        if (refs <= 0) return;
        if (--refs == 0) {
            refs = -1;
            free();
        }
    }

    public final synchronized boolean isFreed() { return refs < 0; }

    /** True when exactly one tensor handle refers to this storage (no view or alias of it is alive). */
    public final synchronized boolean hasOneHandle() { return refs == 1; }

    /**
     * The elements on the host: this storage itself on the CPU, a fresh copy (which the caller frees
     * with {@link #freeHostCopy}) elsewhere.
     */
    public abstract HostStorage host();

    /** Frees a copy that {@link #host()} made; does nothing when {@code h} is this storage. */
    public final void freeHostCopy(HostStorage h) {
        if (h != this) {
            h.retain();
            h.release();
        }
    }

    /** Returns the memory to its pool. Called exactly once, when the last reference goes. */
    protected abstract void free();

}
