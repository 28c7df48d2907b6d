package dev.clipvil.vil;

import dev.clipvil.nn.Embedding;
import dev.clipvil.nn.Init;
import dev.clipvil.nn.Linear;

/** HF BERT's initialisation: weights N(0, initializer_range), biases zero. */
final class BertInit {
    private BertInit() {}

    static Linear linear(int in, int out, BertConfig c, Init init) {
        Linear l = new Linear(in, out, true, init);
        init.normal(l.weight(), 0, c.initializerRange());
        Init.zeros(l.bias());
        return l;
    }

    static Embedding embedding(int num, int dim, BertConfig c, Init init) {
        Embedding e = new Embedding(num, dim, init);
        init.normal(e.weight(), 0, c.initializerRange());
        return e;
    }
}
