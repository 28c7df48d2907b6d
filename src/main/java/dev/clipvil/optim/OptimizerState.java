package dev.clipvil.optim;

import dev.clipvil.tensor.Tensor;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An optimizer's per-parameter state, keyed by parameter name: how many steps each parameter has
 * taken and its state tensors by slot ("exp_avg", "exp_avg_sq" for AdamW, "momentum_buffer" for SGD).
 * From {@link Optimizer#state()} the tensors are the optimizer's own (read them, for instance to save
 * them; do not close them); {@link Optimizer#loadState} copies values in and never keeps the caller's tensors.
 */
public record OptimizerState(Map<String, Entry> params) {
    public OptimizerState {
        params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
    }

    /** One parameter's step count and state tensors by slot. */
    public record Entry(long step, Map<String, Tensor> slots) {
        public Entry {
            if (step < 0) throw new IllegalArgumentException("optimizer state: step must be >= 0, got " + step);
            slots = Collections.unmodifiableMap(new LinkedHashMap<>(slots));
        }
    }

    /** The state tensors flattened to {@code "<param>.<slot>"} keys (for a safetensors file). */
    public LinkedHashMap<String, Tensor> tensors() {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        for (var e : params.entrySet()) {
            for (var s : e.getValue().slots().entrySet()) out.put(e.getKey() + "." + s.getKey(), s.getValue());
        }
        return out;
    }

    /** The step count of each parameter. */
    public LinkedHashMap<String, Long> steps() {
        LinkedHashMap<String, Long> out = new LinkedHashMap<>();
        for (var e : params.entrySet()) out.put(e.getKey(), e.getValue().step());
        return out;
    }

    /**
     * Rebuilds a state from {@link #steps()} and {@link #tensors()}: each tensor key is split at its
     * last '.' into parameter and slot. Every parameter in {@code steps} gets an entry.
     */
    public static OptimizerState of(Map<String, Long> steps, Map<String, Tensor> tensors) {
        LinkedHashMap<String, LinkedHashMap<String, Tensor>> slots = new LinkedHashMap<>();
        for (String p : steps.keySet()) slots.put(p, new LinkedHashMap<>());
        for (var e : tensors.entrySet()) {
            String k = e.getKey();
            int dot = k.lastIndexOf('.');
            String p = dot < 0 ? "" : k.substring(0, dot);
            if (dot < 0 || !slots.containsKey(p)) {
                throw new IllegalArgumentException("optimizer state: tensor '" + k + "' names no parameter with a step count");
            }
            slots.get(p).put(k.substring(dot + 1), e.getValue());
        }
        LinkedHashMap<String, Entry> params = new LinkedHashMap<>();
        for (var e : steps.entrySet()) params.put(e.getKey(), new Entry(e.getValue(), slots.get(e.getKey())));
        return new OptimizerState(params);
    }
}
