package dev.clipvil.vil;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.CompareOp;
import dev.clipvil.nn.Dropout;
import dev.clipvil.nn.Embedding;
import dev.clipvil.nn.Init;
import dev.clipvil.nn.LayerNorm;
import dev.clipvil.nn.Module;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/**
 * BERT's text embeddings: word + absolute position (0..T-1) + token type, then LayerNorm and dropout.
 * The pad id's row of the word table gets no gradient (HF's padding_idx). Names: "word_embeddings", "position_embeddings", "token_type_embeddings", "LayerNorm".
 */
public final class BertEmbeddings extends Module {
    private final Embedding word, position, tokenType;
    private final LayerNorm norm;
    private final Dropout dropout;
    private final int padId;

    public BertEmbeddings(BertConfig c, Init init) {
        padId = c.padTokenId();
        word = registerModule("word_embeddings", BertInit.embedding(c.vocabSize(), c.hiddenSize(), c, init));
        position = registerModule("position_embeddings", BertInit.embedding(c.maxPositions(), c.hiddenSize(), c, init));
        tokenType = registerModule("token_type_embeddings", BertInit.embedding(c.typeVocabSize(), c.hiddenSize(), c, init));
        norm = registerModule("LayerNorm", new LayerNorm(c.hiddenSize(), c.layerNormEps()));
        dropout = registerModule("dropout", new Dropout(c.hiddenDropout(), init));
    }

    /** {@code inputIds} [N, T] (integer); {@code tokenTypeIds} [N, T] or null (all segment 0). Returns [N, T, H]. */
    public Tensor forward(Tensor inputIds, Tensor tokenTypeIds) {
        if (inputIds.dim() != 2) throw new ShapeException("BertEmbeddings: input_ids must be [N, T], got " + Shapes.str(inputIds.shape()));
        int n = inputIds.shape(0), t = inputIds.shape(1);
        if (t > position.num()) throw new ShapeException("BertEmbeddings: " + t + " tokens exceed max_position_embeddings " + position.num());
        Tensor types = tokenTypeIds;
        if (types == null) {
            types = Creation.zeros(DType.I32, n, t);
        } else if (!java.util.Arrays.equals(types.shape(), inputIds.shape())) {
            throw new ShapeException("BertEmbeddings: token_type_ids " + Shapes.str(types.shape()) + " must match input_ids " + Shapes.str(inputIds.shape()));
        }
        Tensor x = Elementwise.add(wordsNoPadGrad(inputIds), tokenType.forward(types));
        x = Elementwise.add(x, Views.narrow(position.weight(), 0, 0, t));
        return dropout.forward(norm.forward(x));
    }

    /**
     * The word embeddings of {@code ids}, with torch's padding_idx semantics: positions holding the
     * pad id pass no gradient to the embedding table (its pad row's gradient stays zero).
     */
    private Tensor wordsNoPadGrad(Tensor ids) {
        Tensor e = word.forward(ids);
        if (!Autograd.needsGrad(e)) return e;
        if (ids.device().kind() != Device.Kind.CPU) {
            // on a device the mask is made there: reading the ids on the host would wait for the device
            // every step (and cannot be part of a captured CUDA graph)
            Tensor pad = Creation.full(ids.device(), ids.dtype(), padId);
            Tensor keep = Views.reshape(Elementwise.compare(CompareOp.NE, ids, pad), ids.shape(0), ids.shape(1), 1);
            return Elementwise.where(keep, e, Views.detach(e));
        }
        long[] v = ids.toLongArray();
        boolean[] keep = new boolean[v.length];
        boolean anyPad = false;
        for (int i = 0; i < v.length; i++) {
            keep[i] = v[i] != padId;
            anyPad |= !keep[i];
        }
        if (!anyPad) return e;
        return Elementwise.where(Creation.onDevice(Tensor.ofBools(keep, ids.shape(0), ids.shape(1), 1), e.device()), e, Views.detach(e));
    }

    public Embedding wordEmbeddings() { return word; }
}
