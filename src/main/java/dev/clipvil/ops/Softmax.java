package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.Backends;
import dev.clipvil.tensor.Tensor;

/** Differentiable softmax and log-softmax along one dim; the backward reads only the forward output. */
public final class Softmax {
    private Softmax() {}

    /** exp(x) / sum(exp(x)) along {@code dim} (negative dims count from the end). */
    public static Tensor softmax(Tensor x, int dim) { return apply(x, dim, false); }

    /** x - log(sum(exp(x))) along {@code dim}. */
    public static Tensor logSoftmax(Tensor x, int dim) { return apply(x, dim, true); }

    private static Tensor apply(Tensor x, int dim, boolean log) {
        Tensor out = Backends.of(x).softmax(x, dim, log);
        return Autograd.record(log ? "log_softmax" : "softmax", out, new Tensor[]{x}, new Tensor[]{out},
                (g, s) -> new Tensor[]{Backends.of(g).softmaxBackward(s[0], g, dim, log)});
    }
}
