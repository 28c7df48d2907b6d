package dev.clipvil.vil;

import dev.clipvil.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Normalises the key spellings of BERT checkpoints to {@link BertForPreTraining}'s names: a bare
 * BertModel's keys get the "bert." prefix; TF-era "LayerNorm.gamma"/"beta" become "weight"/"bias";
 * the "embeddings.position_ids" buffer and the tied "cls.predictions.decoder.*" copies (the word
 * embeddings and "cls.predictions.bias" again) are dropped, their tensors closed.
 */
final class BertKeys {
    private BertKeys() {}

    /** A new map with the renamed keys; takes ownership of {@code sd}'s tensors (dropped ones are closed). */
    static LinkedHashMap<String, Tensor> normalise(Map<String, Tensor> sd) {
        boolean prefixed = sd.keySet().stream().anyMatch(k -> k.startsWith("bert."));
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        for (var e : sd.entrySet()) {
            String k = e.getKey();
            if (k.endsWith("embeddings.position_ids") || k.startsWith("cls.predictions.decoder.")) {
                e.getValue().close();
                continue;
            }
            if (!prefixed && !k.startsWith("cls.")) k = "bert." + k;
            if (k.endsWith(".gamma")) k = k.substring(0, k.length() - 6) + ".weight";
            else if (k.endsWith(".beta")) k = k.substring(0, k.length() - 5) + ".bias";
            out.put(k, e.getValue());
        }
        return out;
    }
}
