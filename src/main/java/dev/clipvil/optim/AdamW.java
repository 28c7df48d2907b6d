package dev.clipvil.optim;

import dev.clipvil.backend.Backends;
import dev.clipvil.tensor.Tensor;

import java.util.List;
import java.util.Map;

/**
 * torch.optim.AdamW (amsgrad off): decoupled weight decay {@code p *= 1 - lr*wd}, then Adam with bias
 * correction, {@code p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)}, with t the parameter's own
 * step count. State slots "exp_avg" and "exp_avg_sq". PyTorch's defaults: lr 1e-3, betas (0.9, 0.999),
 * eps 1e-8, weight decay 1e-2.
 */
public final class AdamW extends StatefulOptimizer {
    private static final List<String> SLOTS = List.of("exp_avg", "exp_avg_sq");
    private final double beta1, beta2, eps;

    /** One group over {@code params} with PyTorch's defaults except the learning rate. */
    public AdamW(Map<String, Tensor> params, double lr) { this(params, lr, 0.9, 0.999, 1e-8, 1e-2); }

    public AdamW(Map<String, Tensor> params, double lr, double beta1, double beta2, double eps, double weightDecay) {
        this(single(params, lr, weightDecay), beta1, beta2, eps);
    }

    /** Over groups that carry their own learning rates and weight decays. */
    public AdamW(List<ParamGroup> groups, double beta1, double beta2, double eps) {
        super("AdamW", groups);
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("AdamW: betas must be in [0, 1), got (" + beta1 + ", " + beta2 + ")");
        }
        if (!(eps >= 0)) throw new IllegalArgumentException("AdamW: eps must be >= 0, got " + eps);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
    }

    @Override
    List<String> slots() { return SLOTS; }

    @Override
    void update(ParamGroup group, Tensor p, Tensor grad, ParamState s) {
        Backends.of("adamw", p, grad).adamwStep(p, grad, s.slots.get("exp_avg"), s.slots.get("exp_avg_sq"),
                group.lr(), beta1, beta2, eps, group.weightDecay(), s.step);
    }

    @Override
    void updateGroup(ParamGroup group, List<Item> items) {
        int n = items.size();
        if (n == 0) return;
        Tensor[] p = new Tensor[n], g = new Tensor[n], m = new Tensor[n], v = new Tensor[n];
        long[] steps = new long[n];
        for (int i = 0; i < n; i++) {
            Item it = items.get(i);
            p[i] = it.param();
            g[i] = it.grad();
            m[i] = it.state().slots.get("exp_avg");
            v[i] = it.state().slots.get("exp_avg_sq");
            steps[i] = it.state().step;
        }
        Backends.of("adamw", p[0], g[0]).adamwStepMulti(p, g, m, v, group.lr(), beta1, beta2, eps, group.weightDecay(), steps);
    }

    public double beta1() { return beta1; }
    public double beta2() { return beta2; }
    public double eps() { return eps; }
}
