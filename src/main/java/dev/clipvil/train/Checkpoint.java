package dev.clipvil.train;

import com.google.gson.JsonObject;
import dev.clipvil.io.CheckpointException;
import dev.clipvil.optim.OptimizerState;
import dev.clipvil.tensor.Tensor;

import java.nio.file.Path;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A checkpoint as {@link Checkpointer#load()} read it: the model's state dict, each optimizer's state
 * by name, and the caller's state JSON exactly as saved. The tensors belong to this object: hand them
 * to {@code Module.loadStateDict} / {@code Optimizer.loadState} (which copy), then {@link #close()} it.
 *
 * @param dir       the folder it was read from
 * @param stateFile its {@code state.json}, for error messages
 */
public record Checkpoint(Path dir, Path stateFile, Map<String, Tensor> model, Map<String, OptimizerState> optimizers,
                         JsonObject state) implements AutoCloseable {
    public Checkpoint {
        model = Collections.unmodifiableMap(new LinkedHashMap<>(model));
        optimizers = Collections.unmodifiableMap(new LinkedHashMap<>(optimizers));
    }

    /** {@link #state()} read as a {@link TrainState}; a bad field is reported with the file and key. */
    public TrainState trainState() throws CheckpointException {
        try {
            return TrainState.fromJson(state);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(stateFile, e.getMessage(), e);
        }
    }

    /** Frees every tensor (each once, even where a tied tensor appears under two names). */
    @Override
    public void close() {
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Tensor t : model.values()) if (seen.add(t)) t.close();
        for (OptimizerState s : optimizers.values()) {
            for (Tensor t : s.tensors().values()) if (seen.add(t)) t.close();
        }
    }
}
