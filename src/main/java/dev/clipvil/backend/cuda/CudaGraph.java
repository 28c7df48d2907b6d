package dev.clipvil.backend.cuda;

import dev.clipvil.backend.HostSeeds;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUgraphExec_st;
import org.bytedeco.cuda.cudart.CUgraph_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.BytePointer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * A CUDA graph of the work one piece of Java code issues on a device's stream, captured once
 * ({@code cudaStreamBeginCapture} in global mode, so that an illegal call from any thread invalidates
 * the capture instead of running) and replayed with one {@code cudaGraphLaunch}.
 *
 * <p>Capturing runs nothing: it records. Rules while capturing: memory comes from the graph's private
 * pool (see {@link BlockCache}) and keeps its address for every replay; a host synchronisation, a copy
 * to or from a CPU tensor, a CPU fallback or emptying the memory cache throws a {@link CudaGraphException}
 * naming the operation and the capture is abandoned. Kernel arguments are frozen at capture, so the
 * per-step scalars of the optimizer updates (learning rate, step count) live in device slots instead
 * ({@link #scalarSlot}): before each replay {@link #refresh} runs the optimizer's step on the host in a
 * mode where each update only writes its slot, and {@link #replay} copies the slots up (one async copy
 * from pinned memory) ahead of the launch.
 *
 * <p>Dropout masks: the seeds a step draws on the host ({@link HostSeeds#draw}, as nn.Dropout does)
 * are recorded during the capture with the rule that drew them, and each captured mask kernel reads its
 * seed from a slot ({@link #seedSlot}). {@link #refresh} calls the recorded rules again in capture
 * order, so the callers' counters advance as in an eager step and every replay gets the seeds (hence
 * the masks) the eager step would have drawn. A mask whose seed was not drawn that way is refused at
 * capture: a replay would repeat it.
 *
 * <p>On a dry-run context nothing is captured by CUDA: launches and GEMMs are recorded and each replay
 * counts them again, so the rules and the bookkeeping are tested on the CPU.
 */
public final class CudaGraph implements AutoCloseable {
    /** Device scalar slots one graph can hold: optimizer updates (two doubles each) and dropout seeds (one 64-bit integer each). */
    static final int MAX_SLOTS = 8192;
    static final int SLOT_BYTES = 16;

    private enum State { CAPTURING, READY, CLOSED }

    /** An optimizer update's slot: {@code index} in the slot array. */
    private record Slot(String op, long param, int index) {}

    /** A seed drawn on the host during the capture: the rule that draws the next one, the last value, the slots that hold it. */
    private static final class Draw {
        final LongSupplier next;
        long seed;
        final List<Integer> slots = new ArrayList<>(1);

        Draw(LongSupplier next, long seed) {
            this.next = next;
            this.seed = seed;
        }
    }

    private static int counter;

    private final CudaContext ctx;
    private final String name;
    private final BlockCache.PrivatePool pool;
    private final CUgraph_st graph = new CUgraph_st();
    private final CUgraphExec_st exec = new CUgraphExec_st();
    private final CUevent_st copied = new CUevent_st();
    private final RawPointer pinned = new RawPointer();
    private final RawPointer devPtr = new RawPointer();
    private final ByteBuffer host;
    private final long deviceScalars;
    private final List<Slot> slots = new ArrayList<>();
    private final List<Draw> draws = new ArrayList<>();
    private final List<Integer> seedSlots = new ArrayList<>();
    private final List<String> dryOps = new ArrayList<>();
    private HostSeeds.Recorder seedsBefore;
    private int used;
    private byte[] dryDevice = new byte[0];
    private State state = State.CAPTURING;
    private int cursor = -1;
    private boolean copyPending;
    private long replays, uploads;

    private CudaGraph(CudaContext ctx) {
        this.ctx = ctx;
        synchronized (CudaGraph.class) {
            this.name = "graph " + (++counter) + " on " + ctx.device();
        }
        this.pool = new BlockCache.PrivatePool(name);
        long bytes = (long) MAX_SLOTS * SLOT_BYTES;
        this.deviceScalars = ctx.memory().allocate(bytes, "the scalar slots of a CUDA graph");
        if (ctx.dryRun()) {
            host = ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
        } else {
            CudaCheck.rt(cudart.cudaMallocHost(pinned, bytes), "cudaMallocHost(" + bytes + " bytes) for a CUDA graph's scalars");
            host = new BytePointer(pinned).capacity(bytes).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            CudaCheck.rt(cudart.cudaEventCreateWithFlags(copied, cudart.cudaEventDisableTiming), "cudaEventCreate (graph scalars)");
        }
    }

    /** Captures the work {@code body} issues on {@code device}'s stream (a CUDA device, or a dry-run one). */
    public static CudaGraph capture(dev.clipvil.tensor.Device device, Runnable body) {
        return capture(CudaContext.get(device.index()), body);
    }

    static CudaGraph capture(CudaContext ctx, Runnable body) {
        ctx.makeCurrent();
        if (ctx.capturing() != null) throw new CudaGraphException(ctx.device() + ": a CUDA graph is being captured already (captures do not nest)");
        if (ctx.refreshing() != null) throw ctx.refreshing().illegal("capturing another CUDA graph");
        // cuBLAS creates its handle (and we set its workspace) outside the capture
        if (!ctx.dryRun() && CudaLibraries.isLoaded("cublas")) ctx.cublas();
        CudaGraph g = new CudaGraph(ctx);
        g.begin();
        try {
            body.run();
        } catch (RuntimeException | Error e) {
            g.abandon();
            throw e;
        }
        g.end();
        return g;
    }

    private void begin() {
        ctx.memory().beginCapture(pool);
        ctx.setCapturing(this);
        seedsBefore = HostSeeds.record(this::drawn);
        if (ctx.dryRun()) {
            DryRun.capture = this;
            return;
        }
        int err = cudart.cudaStreamBeginCapture(ctx.stream(), cudart.cudaStreamCaptureModeGlobal);
        if (err != 0) {
            stopCapturing();
            release();
            throw new CudaGraphException(ctx.device() + ": cudaStreamBeginCapture failed: " + CudaCheck.rtMessage(err));
        }
    }

    private void stopCapturing() {
        HostSeeds.record(seedsBefore);
        seedsBefore = null;
        ctx.setCapturing(null);
        if (DryRun.capture == this) DryRun.capture = null;
        ctx.memory().endCapture();
    }

    private void end() {
        stopCapturing();
        if (!ctx.dryRun()) {
            int err = cudart.cudaStreamEndCapture(ctx.stream(), graph);
            if (err != 0) {
                cudart.cudaGetLastError();
                release();
                throw new CudaGraphException(ctx.device() + ": cudaStreamEndCapture failed: " + CudaCheck.rtMessage(err)
                        + " (the capture was invalidated by a call CUDA does not allow during a capture, e.g. a synchronous copy, a"
                        + " stream synchronisation or an allocation from another thread or a library)");
            }
            err = cudart.cudaGraphInstantiate(exec, graph, 0L);
            if (err != 0) {
                release();
                throw new CudaGraphException(ctx.device() + ": cudaGraphInstantiate failed: " + CudaCheck.rtMessage(err));
            }
        }
        state = State.READY;
    }

    /** The body failed: leave capture mode, drop what was recorded, give the memory back. */
    private void abandon() {
        stopCapturing();
        if (!ctx.dryRun()) {
            CUgraph_st partial = new CUgraph_st();
            cudart.cudaStreamEndCapture(ctx.stream(), partial);
            if (partial.address() != 0) cudart.cudaGraphDestroy(partial);
            cudart.cudaGetLastError();
        }
        release();
    }

    /** The error for {@code what}, issued where it cannot be (during the capture or a refresh). */
    CudaGraphException illegal(String what) {
        if (state == State.CAPTURING) {
            return new CudaGraphException(ctx.device() + ": " + what + " cannot be captured in a CUDA graph; the capture of " + name
                    + " is abandoned (move it out of the captured step, or run without CUDA graphs)");
        }
        return new CudaGraphException(ctx.device() + ": " + what + " was issued while refreshing the scalars of " + name
                + "; only the optimizer's updates (adamw, sgd) may run there");
    }

    /** A dry-run launch or GEMM issued during the capture. */
    void recorded(String op) { dryOps.add(op); }

    /** During the capture: a new slot holding ({@code lr}, {@code step}) for update {@code op} of the parameter at {@code param}; its device address. */
    long scalarSlot(String op, long param, double lr, double step) {
        int k = newSlot();
        slots.add(new Slot(op, param, k));
        write(k, lr, step);
        return deviceScalars + (long) k * SLOT_BYTES;
    }

    /** During the capture: a host seed draw ({@link HostSeeds}) of the capturing thread. */
    private void drawn(long seed, LongSupplier next) {
        if (state == State.CAPTURING) draws.add(new Draw(next, seed));
    }

    /**
     * During the capture: a new slot holding {@code seed} for the random kernel of {@code op}; its device
     * address. The seed must come from a draw of this capture (the latest with that value), whose rule
     * rewrites the slot at every {@link #refresh}; any other seed would repeat on every replay, so it fails.
     */
    long seedSlot(String op, long seed) {
        for (int i = draws.size() - 1; i >= 0; i--) {
            Draw d = draws.get(i);
            if (d.seed == seed) {
                int k = newSlot();
                d.slots.add(k);
                seedSlots.add(k);
                host.putLong(k * SLOT_BYTES, seed);
                return deviceScalars + (long) k * SLOT_BYTES;
            }
        }
        throw illegal(op + " with a seed (" + seed + ") the host did not draw through HostSeeds.draw (every replay would repeat the captured mask)");
    }

    private int newSlot() {
        if (state != State.CAPTURING) throw new IllegalStateException(name + " is not being captured");
        if (used == MAX_SLOTS) {
            throw new CudaGraphException(ctx.device() + ": more than " + MAX_SLOTS + " device scalars (optimizer updates and dropout seeds) in one CUDA graph");
        }
        return used++;
    }

    /** During {@link #refresh}: the next slot gets the values of this step; it must be the same update as at capture. */
    void refreshSlot(String op, long param, double lr, double step) {
        if (cursor < 0) throw new IllegalStateException(name + " is not being refreshed");
        if (cursor >= slots.size()) {
            throw new CudaGraphException(ctx.device() + ": the refresh of " + name + " made more optimizer updates than the " + slots.size()
                    + " of the captured step (did a parameter gain a gradient?)");
        }
        Slot s = slots.get(cursor);
        if (!s.op().equals(op) || s.param() != param) {
            throw new CudaGraphException(ctx.device() + ": optimizer update " + cursor + " of the refresh of " + name + " is " + op + " of the parameter at 0x"
                    + Long.toHexString(param) + ", but the captured step made " + s.op() + " of 0x" + Long.toHexString(s.param())
                    + " there (the optimizers or their parameters changed since the capture)");
        }
        write(s.index(), lr, step);
        cursor++;
    }

    private void write(int k, double lr, double step) {
        host.putDouble(k * SLOT_BYTES, lr);
        host.putDouble(k * SLOT_BYTES + 8, step);
    }

    /**
     * Draws the step's host seeds again (each recorded rule once, in capture order: their counters move
     * on as in an eager step, the new seeds go to their slots), then runs {@code updates} (the step's
     * optimizer steps, e.g. {@code optimizer::step}) on the host so that each update writes this step's
     * learning rate and step count into its slot; nothing is launched. The updates must be the captured
     * ones, in the same order.
     */
    public void refresh(Runnable updates) {
        requireReady();
        ctx.makeCurrent();
        if (copyPending && !ctx.dryRun()) {
            // the previous replay's copy reads the pinned slots: wait for it (it ran ahead of that replay's kernels)
            CudaCheck.rt(cudart.cudaEventSynchronize(copied), "cudaEventSynchronize (graph scalars)");
            copyPending = false;
        }
        cursor = 0;
        ctx.setRefreshing(this);
        if (ctx.dryRun()) DryRun.refresh = this;
        int done;
        try {
            for (Draw d : draws) {
                d.seed = d.next.getAsLong();
                for (int k : d.slots) host.putLong(k * SLOT_BYTES, d.seed);
            }
            updates.run();
        } finally {
            ctx.setRefreshing(null);
            if (DryRun.refresh == this) DryRun.refresh = null;
            done = cursor;
            cursor = -1;
        }
        if (done != slots.size()) {
            throw new CudaGraphException(ctx.device() + ": the refresh of " + name + " made " + done + " optimizer updates but the captured step made "
                    + slots.size() + " (did a parameter lose its gradient?)");
        }
    }

    /** Runs the captured work once more: the scalar slots are copied up, then the graph is launched (asynchronously). */
    public void replay() {
        requireReady();
        ctx.makeCurrent();
        if (ctx.capturing() != null) throw ctx.capturing().illegal("replaying another CUDA graph");
        int n = used;
        if (ctx.dryRun()) {
            if (n > 0) {
                dryDevice = new byte[n * SLOT_BYTES];
                host.get(0, dryDevice);
                uploads++;
            }
            DryRun.replayed(dryOps);
        } else {
            if (n > 0) {
                CudaCheck.rt(cudart.cudaMemcpyAsync(devPtr.at(deviceScalars), pinned, (long) n * SLOT_BYTES, cudart.cudaMemcpyHostToDevice, ctx.stream()),
                        "cudaMemcpyAsync (graph scalars, " + n * SLOT_BYTES + " bytes)");
                CudaCheck.rt(cudart.cudaEventRecord(copied, ctx.stream()), "cudaEventRecord (graph scalars)");
                copyPending = true;
                uploads++;
            }
            CudaCheck.rt(cudart.cudaGraphLaunch(exec, ctx.stream()), "cudaGraphLaunch(" + name + ")");
            ctx.indexFaults().replayed();
            if (KernelLaunch.SYNC) ctx.synchronize();
        }
        replays++;
    }

    private void requireReady() {
        if (state != State.READY) throw new IllegalStateException(name + " is " + (state == State.CLOSED ? "closed" : "still being captured"));
    }

    /** Optimizer updates captured (their scalar slots in use). */
    public int scalarSlots() { return slots.size(); }

    /** Captured random kernels (dropout masks) that read their seed from a slot. */
    public int seedSlots() { return seedSlots.size(); }

    /** Host seed draws recorded by the capture (each redone by every refresh). */
    public int seedDraws() { return draws.size(); }

    /** Replays so far. */
    public long replays() { return replays; }

    /** Copies of the scalar slots to the device so far. */
    long scalarUploads() { return uploads; }

    /** Nodes of the captured graph (kernels, copies, memsets; a cuBLAS GEMM may be several); dry run: launches and GEMMs recorded. */
    public long nodeCount() {
        requireReady();
        if (ctx.dryRun()) return dryOps.size();
        try (org.bytedeco.javacpp.SizeTPointer n = new org.bytedeco.javacpp.SizeTPointer(1)) {
            CudaCheck.rt(cudart.cudaGraphGetNodes(graph, (org.bytedeco.cuda.cudart.CUgraphNode_st) null, n), "cudaGraphGetNodes(" + name + ")");
            return n.get();
        }
    }

    /** Dry run: launches and GEMMs recorded by the capture. */
    int recordedOps() { return dryOps.size(); }

    /** Dry run: the optimizer slots as the device got them at the last replay (lr, step pairs, in capture order). */
    double[] deviceScalarsSeen() {
        ByteBuffer b = ByteBuffer.wrap(dryDevice).order(ByteOrder.LITTLE_ENDIAN);
        double[] out = new double[dryDevice.length == 0 ? 0 : 2 * slots.size()];
        for (int i = 0; i < out.length / 2; i++) {
            int k = slots.get(i).index();
            out[2 * i] = b.getDouble(k * SLOT_BYTES);
            out[2 * i + 1] = b.getDouble(k * SLOT_BYTES + 8);
        }
        return out;
    }

    /** Dry run: the seed slots as the device got them at the last replay, one per captured mask in capture order. */
    long[] deviceSeedsSeen() {
        ByteBuffer b = ByteBuffer.wrap(dryDevice).order(ByteOrder.LITTLE_ENDIAN);
        long[] out = new long[dryDevice.length == 0 ? 0 : seedSlots.size()];
        for (int i = 0; i < out.length; i++) out[i] = b.getLong(seedSlots.get(i) * SLOT_BYTES);
        return out;
    }

    public String name() { return name; }

    /** Waits for the last replay, then frees the graph, its pool (back to the device's cache) and its scalar slots. */
    @Override
    public void close() {
        if (state == State.CLOSED) return;
        if (ctx.capturing() != null && ctx.capturing() != this) throw ctx.capturing().illegal("destroying another CUDA graph");
        if (!ctx.dryRun()) {
            ctx.makeCurrent();
            CudaCheck.rt(cudart.cudaStreamSynchronize(ctx.stream()), "cudaStreamSynchronize before destroying " + name);
        }
        release();
    }

    private void release() {
        boolean ready = state == State.READY;
        state = State.CLOSED;
        if (!ctx.dryRun()) {
            if (ready) {
                cudart.cudaGraphExecDestroy(exec);
                cudart.cudaGraphDestroy(graph);
            } else if (graph.address() != 0) {
                cudart.cudaGraphDestroy(graph);
            }
            cudart.cudaEventDestroy(copied);
            cudart.cudaFreeHost(pinned);
        }
        ctx.memory().destroy(pool);
        ctx.memory().release(deviceScalars, (long) MAX_SLOTS * SLOT_BYTES);
    }

    @Override
    public String toString() { return name + " (" + slots.size() + " optimizer slots, " + seedSlots.size() + " seed slots, " + replays + " replays)"; }
}
