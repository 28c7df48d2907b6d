package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.HostStorage;
import dev.clipvil.tensor.Storage;

/**
 * Device memory holding one storage's elements. Reference counted like every {@link Storage}: the
 * block goes back to its device's cache when the last tensor handle closes, never by the GC.
 * {@link #host()} copies the elements down (for printing, saving, tests).
 */
public final class CudaStorage extends Storage {
    private final CudaContext ctx;
    private final long bytes;
    private long ptr;

    CudaStorage(CudaContext ctx, DType dtype, int numel) {
        super(dtype, numel, ctx.device());
        this.ctx = ctx;
        this.bytes = (long) numel * dtype.byteSize();
        this.ptr = ctx.memory().allocate(bytes, numel + " x " + dtype);
    }

    /** The storage-allocator hook for {@code Storage.registerAllocator}. */
    static Storage allocateOn(Device device, DType dtype, int numel) {
        return new CudaStorage(CudaContext.get(device.index()), dtype, numel);
    }

    public CudaContext context() { return ctx; }

    /** The device address of element 0. */
    public long address() {
        if (ptr == 0 && bytes != 0) throw new IllegalStateException("use of freed " + dtype() + " device storage of " + numel() + " elements");
        return ptr;
    }

    /** The device address of element {@code elementOffset}. */
    public long address(int elementOffset) { return address() + (long) elementOffset * dtype().byteSize(); }

    /** Copies all elements of a host storage of the same dtype and size into this one. */
    void upload(HostStorage src) {
        if (src.dtype() != dtype() || src.numel() != numel()) {
            throw new IllegalArgumentException("upload of " + src.numel() + " x " + src.dtype() + " into " + numel() + " x " + dtype());
        }
        ctx.requireNotCapturing("a host->device copy of " + numel() + " x " + dtype() + " (a CPU tensor moved to the device; "
                + "put inputs in static device tensors before the step)");
        if (bytes > 0 && !ctx.dryRun()) ctx.staging().upload(src, address());
    }

    @Override
    public HostStorage host() {
        ctx.requireNotCapturing("a device->host copy of " + numel() + " x " + dtype() + " (item(), toFloatArray() or another read on the host; "
                + "read results after the step)");
        HostStorage h = (HostStorage) Storage.allocate(Device.CPU, dtype(), numel());
        if (bytes > 0 && !ctx.dryRun()) ctx.staging().download(address(), h);
        else if (ctx.dryRun()) zero(h);
        return h;
    }

    /** A fresh host storage may be a recycled array: in a dry run it must read as zeros. */
    private static void zero(HostStorage h) {
        for (int i = 0; i < h.numel(); i++) h.setDouble(i, 0);
    }

    @Override
    protected void free() {
        long p = ptr;
        ptr = 0;
        ctx.memory().release(p, bytes);
    }
}
