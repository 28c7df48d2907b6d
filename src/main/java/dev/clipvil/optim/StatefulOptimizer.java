package dev.clipvil.optim;

import dev.clipvil.backend.Backends;
import dev.clipvil.ops.Autocast;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What AdamW and SGD share: groups with unique parameter names, lazily created per-parameter state
 * (a step count and zero-initialised slot tensors of the parameter's shape and dtype), its export
 * and import, and skipping parameters without a gradient.
 */
abstract class StatefulOptimizer implements Optimizer {
    /** One parameter's state. */
    static final class ParamState {
        long step;
        final LinkedHashMap<String, Tensor> slots = new LinkedHashMap<>();
    }

    private final List<ParamGroup> groups;
    private final LinkedHashMap<String, Tensor> byName = new LinkedHashMap<>();
    private final LinkedHashMap<String, ParamState> state = new LinkedHashMap<>();
    private final String kind;

    StatefulOptimizer(String kind, List<ParamGroup> groups) {
        this.kind = kind;
        this.groups = List.copyOf(groups);
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (ParamGroup g : this.groups) {
            for (var e : g.params().entrySet()) {
                if (byName.containsKey(e.getKey())) throw new IllegalArgumentException(kind + ": parameter name '" + e.getKey() + "' appears twice");
                if (!seen.add(e.getValue())) throw new IllegalArgumentException(kind + ": parameter '" + e.getKey() + "' is the same tensor as another parameter");
                byName.put(e.getKey(), e.getValue());
            }
        }
    }

    /** The state slots this optimizer keeps per parameter (may be empty). */
    abstract List<String> slots();

    /** Updates {@code p} from {@code grad}; {@code s.step} has already been incremented. */
    abstract void update(ParamGroup group, Tensor p, Tensor grad, ParamState s);

    /** A parameter of a group with a gradient this step, its state already advanced. */
    record Item(Tensor param, Tensor grad, ParamState state) {}

    /**
     * Updates the items of one group (all on one device). The default updates them one by one; an
     * optimizer whose backend has a multi-tensor update overrides it (same results, fewer launches).
     */
    void updateGroup(ParamGroup group, List<Item> items) {
        for (Item it : items) update(group, it.param(), it.grad(), it.state());
    }

    @Override
    public void step() {
        Autocast.clearCache(); // the parameters change: lowered copies cached by a still-open BF16 region are stale
        for (ParamGroup g : groups) {
            Map<Device, List<Item>> byDevice = new LinkedHashMap<>();
            for (var e : g.params().entrySet()) {
                Tensor p = e.getValue(), grad = p.grad();
                if (grad == null) continue;
                ParamState s = state.computeIfAbsent(e.getKey(), k -> newState(p));
                s.step++;
                byDevice.computeIfAbsent(p.device(), d -> new ArrayList<>()).add(new Item(p, grad, s));
            }
            for (List<Item> items : byDevice.values()) updateGroup(g, items);
        }
    }

    private ParamState newState(Tensor p) {
        ParamState s = new ParamState();
        for (String slot : slots()) {
            Tensor t = MemoryScope.detach(Backends.of(p).empty(p.dtype(), p.shape()));
            Backends.of(p).fill(t, 0);
            s.slots.put(slot, t);
        }
        return s;
    }

    @Override
    public void zeroGrad() {
        for (ParamGroup g : groups) for (Tensor p : g.params().values()) p.zeroGrad();
    }

    @Override
    public List<ParamGroup> groups() { return groups; }

    @Override
    public OptimizerState state() {
        LinkedHashMap<String, OptimizerState.Entry> out = new LinkedHashMap<>();
        for (var e : state.entrySet()) out.put(e.getKey(), new OptimizerState.Entry(e.getValue().step, e.getValue().slots));
        return new OptimizerState(out);
    }

    @Override
    public List<String> stateProblems(OptimizerState s) {
        List<String> problems = new ArrayList<>();
        for (var e : s.params().entrySet()) {
            Tensor p = byName.get(e.getKey());
            if (p == null) {
                problems.add("unknown parameter '" + e.getKey() + "'");
                continue;
            }
            for (var slot : e.getValue().slots().entrySet()) {
                String key = e.getKey() + "." + slot.getKey();
                if (!slots().contains(slot.getKey())) problems.add("unknown slot '" + key + "' (" + kind + " keeps " + slots() + ")");
                else if (!Arrays.equals(slot.getValue().shape(), p.shape())) {
                    problems.add(key + ": expected " + Shapes.str(p.shape()) + " got " + Shapes.str(slot.getValue().shape()));
                }
            }
            if (e.getValue().step() > 0) {
                for (String slot : slots()) {
                    if (!e.getValue().slots().containsKey(slot)) problems.add("missing slot '" + e.getKey() + "." + slot + "'");
                }
            }
        }
        return problems;
    }

    @Override
    public void loadState(OptimizerState s) {
        List<String> problems = stateProblems(s);
        if (!problems.isEmpty()) throw new IllegalArgumentException(kind + ": cannot load optimizer state: " + String.join("; ", problems));
        for (var e : s.params().entrySet()) {
            Tensor p = byName.get(e.getKey());
            ParamState st = state.computeIfAbsent(e.getKey(), k -> newState(p));
            st.step = e.getValue().step();
            for (var slot : e.getValue().slots().entrySet()) {
                Tensor src = slot.getValue(), dst = st.slots.get(slot.getKey());
                if (src == dst) continue;
                if (dst.device().kind() == Device.Kind.CPU) Backends.of(src).copy(src, dst);
                else Backends.of(dst).copy(src, dst);
            }
        }
    }

    /** The state of parameter {@code name}, or null before its first step. */
    ParamState stateOf(String name) { return state.get(name); }

    @Override
    public void close() {
        for (ParamState s : state.values()) for (Tensor t : s.slots.values()) t.close();
        state.clear();
    }

    static List<ParamGroup> single(Map<String, Tensor> params, double lr, double weightDecay) {
        return List.of(new ParamGroup("default", params, lr, weightDecay));
    }
}
