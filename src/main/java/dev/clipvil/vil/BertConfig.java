package dev.clipvil.vil;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/**
 * The BERT hyper-parameters of an HF config.json (only exact "gelu" activations are supported).
 * {@code padTokenId} is the word embedding's padding_idx: its row gets no gradient.
 */
public record BertConfig(int vocabSize, int hiddenSize, int numLayers, int numHeads, int intermediateSize,
                         int maxPositions, int typeVocabSize, double layerNormEps, double hiddenDropout,
                         double attentionDropout, double initializerRange, int padTokenId) {
    public BertConfig {
        if (vocabSize < 1 || hiddenSize < 1 || numLayers < 0 || numHeads < 1 || hiddenSize % numHeads != 0
                || intermediateSize < 1 || maxPositions < 1 || typeVocabSize < 1) {
            throw new IllegalArgumentException("BertConfig: invalid sizes " + this);
        }
    }

    public int headDim() { return hiddenSize / numHeads; }

    /** Parses an HF BertConfig JSON text. */
    public static BertConfig fromJson(String json) {
        JsonObject o = JsonParser.parseString(json).getAsJsonObject();
        String act = o.has("hidden_act") ? o.get("hidden_act").getAsString() : "gelu";
        if (!act.equals("gelu")) throw new IllegalArgumentException("BERT config: hidden_act '" + act + "' is not supported (only exact \"gelu\")");
        return new BertConfig(o.get("vocab_size").getAsInt(), o.get("hidden_size").getAsInt(),
                o.get("num_hidden_layers").getAsInt(), o.get("num_attention_heads").getAsInt(),
                o.get("intermediate_size").getAsInt(), num(o, "max_position_embeddings", 512),
                num(o, "type_vocab_size", 2), dbl(o, "layer_norm_eps", 1e-12), dbl(o, "hidden_dropout_prob", 0.1),
                dbl(o, "attention_probs_dropout_prob", 0.1), dbl(o, "initializer_range", 0.02),
                num(o, "pad_token_id", 0));
    }

    private static int num(JsonObject o, String k, int dflt) { return o.has(k) && !o.get(k).isJsonNull() ? o.get(k).getAsInt() : dflt; }

    private static double dbl(JsonObject o, String k, double dflt) { return o.has(k) && !o.get(k).isJsonNull() ? o.get(k).getAsDouble() : dflt; }
}
