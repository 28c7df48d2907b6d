package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.Objects;

/**
 * A training step run through a {@link CudaGraph} when its shapes repeat: the first {@code warmup}
 * steps of a shape run eagerly (the allocator's cache fills, modules load, cuBLAS gets its handle),
 * the next is captured and replayed at once, and every later step with the same shape key is a
 * refresh of the optimizer scalars and dropout seeds plus one replay. A step with another shape key (a short last
 * batch) runs eagerly; there is one graph per step object. On the CPU every step runs eagerly.
 *
 * <p>The body must be replayable: it reads its inputs from device tensors that keep their addresses
 * (static buffers the caller fills before {@link #run}), writes what the caller reads afterwards (the
 * loss) into static outputs, and does not read anything on the host; the seeds of its random kernels
 * (dropout) are drawn through {@link dev.clipvil.backend.HostSeeds} (as nn.Dropout does), which every
 * refresh draws again, so replays get fresh masks.
 * {@code updates} runs the body's optimizer steps alone (e.g. {@code () -> { opt.step(); }}); they must be
 * the last thing that depends on host values (learning rates from the schedule, step counts).
 */
public final class CudaGraphStep implements AutoCloseable {
    /** How a step ran. */
    public enum Mode { EAGER, CAPTURED, REPLAYED }

    private final CudaContext ctx;
    private final int warmup;
    private final Runnable updates;
    private CudaGraph graph;
    private Object graphKey;
    private Object warmKey;
    private int warmRuns;
    private long eager, replayed;

    /** On {@code device} (CPU: always eager), capturing after {@code warmup} eager steps of one shape (at least 1). */
    public CudaGraphStep(Device device, int warmup, Runnable updates) {
        if (warmup < 1) throw new IllegalArgumentException("CUDA graph step: warm-up must be at least 1 eager step, got " + warmup);
        this.ctx = device.kind() == Device.Kind.CUDA ? CudaContext.get(device.index()) : null;
        this.warmup = warmup;
        this.updates = Objects.requireNonNull(updates, "updates");
    }

    /** A key of the shapes and dtypes of {@code ts} (nulls allowed), for {@link #run}. */
    public static String shapeKey(Tensor... ts) {
        StringBuilder sb = new StringBuilder();
        for (Tensor t : ts) {
            sb.append(t == null ? "-" : t.dtype() + Shapes.str(t.shape())).append('|');
        }
        return sb.toString();
    }

    /** Runs one step whose shapes are identified by {@code shapeKey}. */
    public Mode run(Object shapeKey, Runnable body) {
        Objects.requireNonNull(shapeKey, "shapeKey");
        if (ctx == null) return eager(body);
        if (graph != null) {
            if (!graphKey.equals(shapeKey)) return eager(body);
            graph.refresh(updates);
            graph.replay();
            replayed++;
            return Mode.REPLAYED;
        }
        if (!shapeKey.equals(warmKey)) {
            warmKey = shapeKey;
            warmRuns = 0;
        }
        if (warmRuns < warmup) {
            warmRuns++;
            return eager(body);
        }
        graph = CudaGraph.capture(ctx, body);
        graphKey = shapeKey;
        graph.replay();
        return Mode.CAPTURED;
    }

    private Mode eager(Runnable body) {
        body.run();
        eager++;
        return Mode.EAGER;
    }

    /** The shape key of the captured graph, or null before the capture. */
    public Object graphKey() { return graphKey; }

    /** The captured graph, or null before the capture (and on the CPU). */
    public CudaGraph graph() { return graph; }

    public long eagerSteps() { return eager; }

    public long replayedSteps() { return replayed; }

    /** Destroys the graph (its pool goes back to the device's cache). */
    @Override
    public void close() {
        if (graph != null) graph.close();
        graph = null;
    }
}
