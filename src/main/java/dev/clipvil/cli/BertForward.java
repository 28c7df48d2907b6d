package dev.clipvil.cli;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.clipvil.backend.Backends;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.io.SafeTensorsFile;
import dev.clipvil.ops.Autocast;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.vil.BertConfig;
import dev.clipvil.vil.BertForPreTraining;
import dev.clipvil.vil.BertOutput;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * {@code clipvil forward} on an HF BERT folder: reads {@code input_ids} [N, T], optional
 * {@code token_type_ids} (default zeros) and {@code attention_mask} (default ones), all I32/I64, and
 * optional {@code visual_embeds} [N, V, hidden] (floating) appended after the text embeddings as the
 * single-stream fusion encoder does; writes {@code last_hidden_state} [N, T+V, hidden] and
 * {@code pooled} [N, hidden] in F32. Every bad input is an error naming the file and key.
 */
final class BertForward {
    static final String IDS = "input_ids", TYPES = "token_type_ids", MASK = "attention_mask", VISUAL = "visual_embeds";

    private BertForward() {}

    /**
     * Whether {@code model} is a folder holding a BERT: its config.json says "model_type": "bert", or
     * has no model_type but BERT's fields (and no CLIP text/vision sub-configs) and, when there is a
     * model.safetensors, BERT's word-embedding key.
     */
    static boolean isBertFolder(Path model) throws IOException {
        Path cfg = model.resolve("config.json");
        if (!Files.isDirectory(model) || !Files.isRegularFile(cfg)) return false;
        JsonObject o;
        try {
            JsonElement e = JsonParser.parseString(Files.readString(cfg));
            if (!e.isJsonObject()) return false;
            o = e.getAsJsonObject();
        } catch (JsonParseException e) {
            return false;
        }
        if (o.has("model_type") && o.get("model_type").isJsonPrimitive()) return o.get("model_type").getAsString().equals("bert");
        if (o.has("text_config") || o.has("vision_config")) return false;
        if (!o.has("num_hidden_layers") || !o.has("hidden_size") || !o.has("vocab_size") || !o.has("intermediate_size")) return false;
        Path st = model.resolve("model.safetensors");
        if (!Files.isRegularFile(st)) return true;
        try (SafeTensorsFile f = SafeTensors.open(st)) {
            return f.names().stream().anyMatch(k -> k.endsWith("embeddings.word_embeddings.weight"));
        }
    }

    /** The model's outputs on the inputs of {@code file}, on the CPU in F32 (tensors owned by the current scope). */
    static void compute(BertForPreTraining model, Path file, Map<String, Tensor> outputs) throws IOException {
        compute(model, file, outputs, Compute.cpu());
    }

    /**
     * The model's outputs on the inputs of {@code file} (tensors owned by the current scope, on the
     * model's device): the inputs are checked on the host, then moved to {@code run}'s device, and the
     * forward pass runs in {@code run}'s precision.
     */
    static void compute(BertForPreTraining model, Path file, Map<String, Tensor> outputs, Compute run) throws IOException {
        BertConfig c = model.bert().config();
        try (SafeTensorsFile f = SafeTensors.open(file)) {
            if (!f.contains(IDS)) {
                throw new IllegalArgumentException(file + ": no '" + IDS + "' (a BERT model needs " + IDS + " [N, T]; the file has " + f.names() + ")");
            }
            Tensor ids = ids(file, IDS, f.tensor(IDS), null, c.vocabSize());
            if (ids.shape(1) > c.maxPositions()) {
                throw new IllegalArgumentException(file + ": '" + IDS + "' has " + ids.shape(1) + " tokens, more than max_position_embeddings " + c.maxPositions());
            }
            int n = ids.shape(0), t = ids.shape(1);
            Tensor types = f.contains(TYPES) ? ids(file, TYPES, f.tensor(TYPES), ids.shape(), c.typeVocabSize()) : null;
            Tensor mask = f.contains(MASK) ? ids(file, MASK, f.tensor(MASK), ids.shape(), 2) : null;
            Tensor visual = null;
            if (f.contains(VISUAL)) {
                visual = f.tensor(VISUAL);
                if (!visual.dtype().isFloating()) throw new IllegalArgumentException(file + ": '" + VISUAL + "' must be floating point, got " + visual.dtype());
                if (visual.dim() != 3 || visual.shape(0) != n || visual.shape(2) != c.hiddenSize()) {
                    throw new IllegalArgumentException(file + ": '" + VISUAL + "' has shape " + Shapes.str(visual.shape()) + ", the model expects ["
                            + n + ", V, " + c.hiddenSize() + "] (N from " + IDS + ", the hidden size " + c.hiddenSize() + ")");
                }
                if (visual.dtype() != DType.F32) visual = Backends.of(visual).cast(visual, DType.F32);
            }
            if (mask != null && (visual == null || visual.shape(1) == 0)) {
                long[] m = mask.toLongArray();
                for (int i = 0; i < n; i++) {
                    boolean any = false;
                    for (int j = 0; j < t; j++) any |= m[i * t + j] != 0;
                    if (!any) throw new IllegalArgumentException(file + ": '" + MASK + "' row " + i + " masks every token");
                }
            }
            BertOutput o;
            try (Autocast.Guard ac = run.autocast()) {
                o = model.bert().forward(run.onDevice(ids), run.onDevice(types), run.onDevice(mask), run.onDevice(visual));
            }
            outputs.put("last_hidden_state", o.lastHiddenState());
            outputs.put("pooled", o.pooled());
        }
    }

    /** {@code t} checked as I32/I64 [N, T] (of {@code shape} when given) with values in [0, bound). */
    private static Tensor ids(Path file, String key, Tensor t, int[] shape, long bound) {
        String what = file + ": '" + key + "'";
        if (t.dtype() != DType.I32 && t.dtype() != DType.I64) throw new IllegalArgumentException(what + " must be I32 or I64, got " + t.dtype());
        if (shape == null ? (t.dim() != 2 || t.shape(0) < 1 || t.shape(1) < 1) : !java.util.Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(what + " has shape " + Shapes.str(t.shape()) + ", expected "
                    + (shape == null ? "[N, T]" : Shapes.str(shape) + " like '" + IDS + "'"));
        }
        long[] v = t.toLongArray();
        for (int i = 0; i < v.length; i++) {
            if (v[i] < 0 || v[i] >= bound) {
                throw new IllegalArgumentException(what + " holds " + v[i] + " at row " + i / t.shape(1) + ", position " + i % t.shape(1)
                        + ", outside [0, " + bound + ")");
            }
        }
        return t;
    }
}
