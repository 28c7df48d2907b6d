package dev.clipvil.optim;

import dev.clipvil.tensor.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Several optimizers stepped as one, each over its own parameters with its own rule and learning
 * rates (e.g. AdamW for a fusion model and SGD for a pretrained backbone). Parameter names must be
 * unique across the parts, so that the combined state is keyed unambiguously. Closing it closes the parts.
 */
public final class OptimizerSet implements Optimizer {
    private final List<Optimizer> parts;

    public OptimizerSet(Optimizer... parts) {
        if (parts.length == 0) throw new IllegalArgumentException("OptimizerSet: no optimizers given");
        this.parts = List.of(parts);
        Set<String> names = new java.util.HashSet<>();
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Optimizer o : this.parts) {
            for (ParamGroup g : o.groups()) {
                for (var e : g.params().entrySet()) {
                    if (!names.add(e.getKey())) throw new IllegalArgumentException("OptimizerSet: parameter name '" + e.getKey() + "' is in two optimizers");
                    if (!seen.add(e.getValue())) throw new IllegalArgumentException("OptimizerSet: parameter '" + e.getKey() + "' is updated by two optimizers");
                }
            }
        }
    }

    public List<Optimizer> parts() { return parts; }

    @Override
    public void step() { for (Optimizer o : parts) o.step(); }

    @Override
    public void zeroGrad() { for (Optimizer o : parts) o.zeroGrad(); }

    @Override
    public List<ParamGroup> groups() {
        List<ParamGroup> all = new ArrayList<>();
        for (Optimizer o : parts) all.addAll(o.groups());
        return all;
    }

    @Override
    public OptimizerState state() {
        LinkedHashMap<String, OptimizerState.Entry> all = new LinkedHashMap<>();
        for (Optimizer o : parts) all.putAll(o.state().params());
        return new OptimizerState(all);
    }

    @Override
    public List<String> stateProblems(OptimizerState s) {
        List<String> problems = new ArrayList<>();
        List<OptimizerState> split = split(s, problems);
        for (int i = 0; i < parts.size(); i++) problems.addAll(parts.get(i).stateProblems(split.get(i)));
        return problems;
    }

    @Override
    public void loadState(OptimizerState s) {
        List<String> problems = stateProblems(s);
        if (!problems.isEmpty()) throw new IllegalArgumentException("OptimizerSet: cannot load optimizer state: " + String.join("; ", problems));
        List<OptimizerState> split = split(s, new ArrayList<>());
        for (int i = 0; i < parts.size(); i++) parts.get(i).loadState(split.get(i));
    }

    /** Each part's share of {@code s}; names owned by no part are reported in {@code problems}. */
    private List<OptimizerState> split(OptimizerState s, List<String> problems) {
        List<Map<String, OptimizerState.Entry>> maps = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) maps.add(new LinkedHashMap<>());
        for (var e : s.params().entrySet()) {
            int owner = -1;
            for (int i = 0; i < parts.size() && owner < 0; i++) {
                for (ParamGroup g : parts.get(i).groups()) if (g.params().containsKey(e.getKey())) owner = i;
            }
            if (owner < 0) problems.add("unknown parameter '" + e.getKey() + "'");
            else maps.get(owner).put(e.getKey(), e.getValue());
        }
        List<OptimizerState> out = new ArrayList<>();
        for (var m : maps) out.add(new OptimizerState(m));
        return out;
    }

    @Override
    public void close() { for (Optimizer o : parts) o.close(); }
}
