package dev.clipvil.nn;

import dev.clipvil.ops.Indexing;
import dev.clipvil.tensor.Tensor;

/** A lookup table, as {@code torch.nn.Embedding}: "weight" [num, dim], initialised N(0, 1); ids (I32/I64) of any shape give [..., dim]. */
public class Embedding extends Layer {
    private final int num, dim;

    public Embedding(int num, int dim) { this(num, dim, Init.global()); }

    public Embedding(int num, int dim, Init init) {
        if (num < 1 || dim < 1) throw new IllegalArgumentException("Embedding: sizes must be >= 1, got " + num + " x " + dim);
        this.num = num;
        this.dim = dim;
        init.normal(registerParameter("weight", Init.empty(num, dim)), 0, 1);
    }

    /** The rows of "weight" at {@code ids}. */
    @Override
    public Tensor forward(Tensor ids) { return Indexing.embedding(weight(), ids); }

    public Tensor weight() { return param("weight"); }

    public int num() { return num; }

    public int dim() { return dim; }
}
