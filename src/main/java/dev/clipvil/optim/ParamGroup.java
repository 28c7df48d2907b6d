package dev.clipvil.optim;

import dev.clipvil.tensor.Tensor;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Named parameters that share a learning rate and weight decay. The names (e.g. a module's
 * {@code namedParameters()} keys, with a prefix when several modules are combined) key the
 * optimizer's state in checkpoints. {@link #baseLr} is fixed; {@link #lr} is what the next step uses,
 * and an {@link LrScheduler} sets it to {@code baseLr * factor}.
 */
public final class ParamGroup {
    private final String name;
    private final LinkedHashMap<String, Tensor> params;
    private final double baseLr;
    private double lr;
    private double weightDecay;

    public ParamGroup(String name, Map<String, Tensor> params, double lr, double weightDecay) {
        if (!(lr >= 0)) throw new IllegalArgumentException("param group '" + name + "': learning rate must be >= 0, got " + lr);
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("param group '" + name + "': weight decay must be >= 0, got " + weightDecay);
        for (var e : params.entrySet()) {
            if (!e.getValue().dtype().isFloating()) {
                throw new IllegalArgumentException("param group '" + name + "': parameter '" + e.getKey() + "' is not floating: " + e.getValue().describe());
            }
        }
        this.name = name;
        this.params = new LinkedHashMap<>(params);
        this.baseLr = lr;
        this.lr = lr;
        this.weightDecay = weightDecay;
    }

    /** {@code params} with every key prefixed by {@code prefix + "."} (to combine several modules' parameters). */
    public static LinkedHashMap<String, Tensor> prefixed(String prefix, Map<String, Tensor> params) {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        for (var e : params.entrySet()) out.put(prefix + "." + e.getKey(), e.getValue());
        return out;
    }

    /**
     * Two groups, the usual transformer split: "{name}.decay" with the matrices and kernels (rank >= 2)
     * at {@code weightDecay}, and "{name}.no_decay" with biases, norm scales and other vectors at 0.
     * Empty groups are left out.
     */
    public static List<ParamGroup> decayAndNoDecay(String name, Map<String, Tensor> params, double lr, double weightDecay) {
        LinkedHashMap<String, Tensor> decay = new LinkedHashMap<>(), noDecay = new LinkedHashMap<>();
        for (var e : params.entrySet()) (e.getValue().dim() >= 2 ? decay : noDecay).put(e.getKey(), e.getValue());
        java.util.ArrayList<ParamGroup> out = new java.util.ArrayList<>();
        if (!decay.isEmpty()) out.add(new ParamGroup(name + ".decay", decay, lr, weightDecay));
        if (!noDecay.isEmpty()) out.add(new ParamGroup(name + ".no_decay", noDecay, lr, 0));
        return out;
    }

    public String name() { return name; }

    /** The parameters by name, in order (read-only). */
    public Map<String, Tensor> params() { return Collections.unmodifiableMap(params); }

    /** The learning rate the group was made with (the scheduler's 1.0). */
    public double baseLr() { return baseLr; }

    /** The learning rate of the next step. */
    public double lr() { return lr; }

    public void setLr(double lr) {
        if (!(lr >= 0)) throw new IllegalArgumentException("param group '" + name + "': learning rate must be >= 0, got " + lr);
        this.lr = lr;
    }

    public double weightDecay() { return weightDecay; }

    public void setWeightDecay(double wd) {
        if (!(wd >= 0)) throw new IllegalArgumentException("param group '" + name + "': weight decay must be >= 0, got " + wd);
        this.weightDecay = wd;
    }

    @Override
    public String toString() { return "ParamGroup[" + name + ", " + params.size() + " params, lr=" + lr + ", wd=" + weightDecay + "]"; }
}
