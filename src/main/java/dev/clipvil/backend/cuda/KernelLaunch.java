package dev.clipvil.backend.cuda;

import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.Pointer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Launches a {@link Kernel} with packed {@link KernelArgs} on a device's stream through
 * {@code cuLaunchKernel}; a failed launch throws naming the kernel and its configuration. With
 * {@code CLIPVIL_CUDA_SYNC=1} every launch is followed by a stream synchronisation, so that an
 * asynchronous fault is reported against the kernel that caused it (slow; for debugging).
 */
public final class KernelLaunch {
    static final boolean SYNC = "1".equals(System.getenv("CLIPVIL_CUDA_SYNC"));
    /** Threads per block of the simple (grid-stride) kernels. */
    public static final int BLOCK = 256;

    /** Per thread: the parameter table (one pointer per argument slot) and reusable pointer objects. */
    private static final class Table {
        final ByteBuffer table = ByteBuffer.allocateDirect(8 * KernelArgs.MAX_ARGS).order(ByteOrder.LITTLE_ENDIAN);
        final RawPointer tablePtr = new RawPointer(new Pointer(table).address());
        KernelArgs boundTo;
        long valuesAddress;
    }

    private static final ThreadLocal<Table> TABLES = ThreadLocal.withInitial(Table::new);

    private KernelLaunch() {}

    /** Blocks for a grid-stride loop over {@code n} items: enough to fill the GPU, no more than needed. */
    public static int gridFor(CudaContext ctx, long n) {
        long blocks = (n + BLOCK - 1) / BLOCK;
        long cap = (long) ctx.smCount() * 16;
        return (int) Math.max(1, Math.min(blocks, cap));
    }

    /** A 1-D launch. */
    public static void launch(CudaContext ctx, Kernel k, int grid, int block, int sharedBytes, KernelArgs args) {
        launch(ctx, k, grid, 1, 1, block, 1, 1, sharedBytes, args);
    }

    public static void launch(CudaContext ctx, Kernel k, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes, KernelArgs args) {
        if (gx == 0 || gy == 0 || gz == 0) return; // empty work
        CudaGraph refreshing = ctx.refreshing();
        if (refreshing != null) throw refreshing.illegal("kernel " + k);
        if (sharedBytes > k.maxDynamicShared()) {
            throw new CudaException("kernel " + k + ": a launch with " + sharedBytes + " B of dynamic shared memory, but the kernel is declared with at most "
                    + k.maxDynamicShared() + " B (Kernel.withDynamicShared)");
        }
        if (ctx.dryRun()) {
            DryRun.launched(ctx.capturing(), k, args, gx, gy, gz, bx, by, bz, sharedBytes);
            return;
        }
        ctx.makeCurrent();
        k.checkOnce(args);
        Table t = TABLES.get();
        if (t.boundTo != args) {
            t.boundTo = args;
            t.valuesAddress = new Pointer(args.values).address();
        }
        int n = args.count();
        for (int i = 0; i < n; i++) t.table.putLong(8 * i, t.valuesAddress + args.offset(i));
        int err = cudart.cuLaunchKernel(k.function(ctx), gx, gy, gz, bx, by, bz, sharedBytes, ctx.stream(), t.tablePtr, (Pointer) null);
        if (err != 0) {
            throw new CudaException("cuLaunchKernel(" + k + ") grid " + gx + "x" + gy + "x" + gz + " block " + bx + "x" + by + "x" + bz
                    + " shared " + sharedBytes + " B on " + ctx.device() + " failed: " + CudaCheck.drvMessage(err));
        }
        if (SYNC && ctx.capturing() == null) {
            ctx.indexFaults().beforeSync();
            int e = cudart.cudaStreamSynchronize(ctx.stream());
            if (e != 0) throw new CudaException("kernel " + k + " failed while running (CLIPVIL_CUDA_SYNC=1): " + CudaCheck.rtMessage(e));
            ctx.indexFaults().afterSync();
        }
    }
}
