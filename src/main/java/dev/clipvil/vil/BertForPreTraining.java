package dev.clipvil.vil;

import dev.clipvil.nn.Init;
import dev.clipvil.nn.Module;

/**
 * HF BertForPreTraining's module tree: "bert" (the {@link BertModel}) and "cls" (MLM and NSP heads,
 * the MLM decoder tied to the word embeddings, so its state dict matches a bert-base-uncased checkpoint).
 */
public final class BertForPreTraining extends Module {
    private final BertModel bert;
    private final BertPreTrainingHeads cls;

    public BertForPreTraining(BertConfig c) { this(c, Init.global()); }

    public BertForPreTraining(BertConfig c, Init init) {
        bert = registerModule("bert", new BertModel(c, init));
        cls = registerModule("cls", new BertPreTrainingHeads(c, bert.embeddings().wordEmbeddings(), init));
    }

    public BertModel bert() { return bert; }

    public BertPreTrainingHeads cls() { return cls; }
}
