package dev.clipvil.optim;

import dev.clipvil.backend.Backends;
import dev.clipvil.tensor.Tensor;

import java.util.List;
import java.util.Map;

/**
 * torch.optim.SGD: {@code d = g + wd p}; with momentum, {@code buf = d} on a parameter's first step,
 * else {@code momentum*buf + (1-dampening) d}, and {@code d = d + momentum*buf} (Nesterov) or
 * {@code d = buf}; then {@code p -= lr d}. State slot "momentum_buffer" when momentum is not 0.
 */
public final class SGD extends StatefulOptimizer {
    private final double momentum, dampening;
    private final boolean nesterov;

    /** Plain SGD (no momentum, no weight decay). */
    public SGD(Map<String, Tensor> params, double lr) { this(params, lr, 0, 0, 0, false); }

    public SGD(Map<String, Tensor> params, double lr, double momentum, double dampening, double weightDecay, boolean nesterov) {
        this(single(params, lr, weightDecay), momentum, dampening, nesterov);
    }

    public SGD(List<ParamGroup> groups, double momentum, double dampening, boolean nesterov) {
        super("SGD", groups);
        if (!(momentum >= 0)) throw new IllegalArgumentException("SGD: momentum must be >= 0, got " + momentum);
        if (nesterov && (momentum <= 0 || dampening != 0)) {
            throw new IllegalArgumentException("SGD: Nesterov momentum needs momentum > 0 and dampening 0, got " + momentum + " and " + dampening);
        }
        this.momentum = momentum;
        this.dampening = dampening;
        this.nesterov = nesterov;
    }

    @Override
    List<String> slots() { return momentum == 0 ? List.of() : List.of("momentum_buffer"); }

    @Override
    void update(ParamGroup group, Tensor p, Tensor grad, ParamState s) {
        Backends.of("sgd", p, grad).sgdStep(p, grad, s.slots.get("momentum_buffer"), group.lr(), momentum, dampening,
                group.weightDecay(), nesterov, s.step == 1);
    }

    @Override
    void updateGroup(ParamGroup group, List<Item> items) {
        int n = items.size();
        if (n == 0) return;
        Tensor[] p = new Tensor[n], g = new Tensor[n], bufs = new Tensor[n];
        boolean[] first = new boolean[n];
        for (int i = 0; i < n; i++) {
            Item it = items.get(i);
            p[i] = it.param();
            g[i] = it.grad();
            bufs[i] = it.state().slots.get("momentum_buffer");
            first[i] = it.state().step == 1;
        }
        Backends.of("sgd", p[0], g[0]).sgdStepMulti(p, g, bufs, group.lr(), momentum, dampening, group.weightDecay(), nesterov, first);
    }

    public double momentum() { return momentum; }
    public double dampening() { return dampening; }
    public boolean nesterov() { return nesterov; }
}
