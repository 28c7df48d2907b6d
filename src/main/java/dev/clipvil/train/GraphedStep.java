package dev.clipvil.train;

import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.backend.cuda.CudaGraphException;
import dev.clipvil.backend.cuda.CudaGraphStep;
import dev.clipvil.data.VqaBatch;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.BiConsumer;

/**
 * {@code clipvil train --cuda-graphs}: the training step (zero grads, forward, loss, backward, clipping
 * on the device, optimizer updates) through a {@link CudaGraphStep}. Batches of the captured shape are
 * copied into static device tensors the graph reads; the loss comes back through a static output read
 * after the replay. A batch of another shape (a short last batch, another number of images) runs
 * eagerly on its own tensors; warm-up is two eager steps. The learning rates of the schedule and the
 * optimizers' step counts reach each replay through the graph's device scalars, and so do the dropout
 * seeds: before each replay every captured dropout draws its next seed on the host (its call counter
 * advancing as in an eager step), so a replay drops what the eager step would have dropped and
 * checkpoints keep the counters a resumed run needs.
 */
final class GraphedStep implements AutoCloseable {
    static final int WARMUP = 2;

    private final Device device;
    private final PrintStream log;
    private final Runnable updates;
    private final CudaGraphStep step;
    private final Tensor lossOut;
    private VqaBatch statics;
    private String staticKey;

    GraphedStep(Device device, PrintStream log, Runnable updates) {
        this.device = device;
        this.log = log;
        this.updates = updates;
        this.step = new CudaGraphStep(device, WARMUP, updates);
        this.lossOut = MemoryScope.detach(Backends.of(device).empty(DType.F32));
    }

    /**
     * Fails, saying why, for a run whose step a graph cannot replay faithfully: gradient accumulation
     * (several batches per update). Dropout is fine: its seeds reach each replay through the graph.
     */
    static void requireCapturable(VqaTrainConfig c) {
        if (c.gradAccum() != 1) {
            throw new IllegalArgumentException("--cuda-graphs captures one batch per optimizer step; it needs --grad-accum 1, got " + c.gradAccum());
        }
    }

    /**
     * One step on {@code batch}: {@code lossStep} gets the batch to use (the static copy or the batch
     * itself) and the static loss output, and must leave the gradients ready for the updates (which
     * run after it). Returns the loss.
     */
    double step(VqaBatch batch, BiConsumer<VqaBatch, Tensor> lossStep) {
        String key = CudaGraphStep.shapeKey(batch.inputIds(), batch.tokenTypeIds(), batch.attentionMask(), batch.pixels(), batch.grid(),
                batch.imageOfQuestion(), batch.targets());
        VqaBatch on = batch;
        if (step.graph() == null || key.equals(step.graphKey())) {
            on = staticsFor(batch, key);
            Backend be = Backends.of(device);
            copy(be, batch.inputIds(), on.inputIds());
            copy(be, batch.tokenTypeIds(), on.tokenTypeIds());
            copy(be, batch.attentionMask(), on.attentionMask());
            copy(be, batch.pixels(), on.pixels());
            copy(be, batch.grid(), on.grid());
            copy(be, batch.imageOfQuestion(), on.imageOfQuestion());
            copy(be, batch.targets(), on.targets());
        }
        VqaBatch use = on;
        CudaGraphStep.Mode m;
        try {
            m = step.run(key, () -> {
                lossStep.accept(use, lossOut);
                updates.run();
            });
        } catch (CudaGraphException e) {
            throw new IllegalArgumentException("--cuda-graphs: this run's training step cannot be captured in a CUDA graph: " + e.getMessage()
                    + "; train without --cuda-graphs", e);
        }
        if (m == CudaGraphStep.Mode.CAPTURED) {
            log.printf(Locale.ROOT, "%ntrain: CUDA graph captured (%d nodes, %d optimizer updates, %d dropout masks with fresh seeds per replay); "
                    + "batches of shape %s replay it%n", step.graph().nodeCount(), step.graph().scalarSlots(), step.graph().seedSlots(), key);
        }
        return lossOut.item();
    }

    private static void copy(Backend be, Tensor src, Tensor dst) {
        if (src != null) be.copy(src, dst);
    }

    /** Static device tensors of {@code batch}'s shapes (made again while no graph has captured them). */
    private VqaBatch staticsFor(VqaBatch batch, String key) {
        if (key.equals(staticKey)) return statics;
        if (statics != null) statics.close();
        statics = new VqaBatch(batch.epoch(), batch.index(), like(batch.inputIds()), like(batch.tokenTypeIds()), like(batch.attentionMask()),
                like(batch.pixels()), like(batch.grid()), like(batch.imageOfQuestion()), like(batch.targets()), batch.items(), batch.imageIds());
        staticKey = key;
        return statics;
    }

    private Tensor like(Tensor t) {
        return t == null ? null : MemoryScope.detach(Backends.of(device).empty(t.dtype(), t.shape()));
    }

    long replayedSteps() { return step.replayedSteps(); }

    long eagerSteps() { return step.eagerSteps(); }

    @Override
    public void close() {
        if (step.eagerSteps() + step.replayedSteps() > 0) {
            log.printf(Locale.ROOT, "%ntrain: CUDA graphs: %d steps replayed, %d eager (warm-up and batches of other shapes)%n",
                    step.replayedSteps() + (step.graph() == null ? 0 : 1), step.eagerSteps());
        }
        step.close();
        if (statics != null) statics.close();
        lossOut.close();
    }
}
