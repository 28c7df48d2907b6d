package dev.clipvil.vil;

import dev.clipvil.io.Checkpoints;
import dev.clipvil.nn.Init;
import dev.clipvil.nn.Module;
import dev.clipvil.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Loads an HF BERT folder: config.json, the weights (model.safetensors, sharded safetensors or
 * pytorch_model.bin, via {@link Checkpoints}) and vocab.txt. Every "bert.*" key must match
 * (strict); the "cls.*" pre-training heads are loaded when the checkpoint has them (all or none),
 * else they keep their fresh initialisation. The model is returned in eval mode.
 */
public final class BertLoader {
    private BertLoader() {}

    public static BertConfig config(Path dir) throws IOException {
        return BertConfig.fromJson(Files.readString(dir.resolve("config.json")));
    }

    public static BertForPreTraining load(Path dir) throws IOException {
        BertConfig c = config(dir);
        BertForPreTraining m = new BertForPreTraining(c, new Init(0));
        try {
            loadWeights(dir, m.bert(), m.cls());
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
        m.eval();
        return m;
    }

    /**
     * Loads the folder's weights into {@code bert} (every "bert.*" key, strict) and {@code cls} (the
     * "cls.*" keys, strict, when the checkpoint has any). Returns whether the heads were loaded; when
     * not, {@code cls} keeps its initialisation. {@code cls} may be null (a model without the heads, such
     * as the VQA model: the checkpoint's "cls.*" keys are then ignored). Used by models that embed a BERT
     * under other names.
     */
    public static boolean loadWeights(Path dir, BertModel bert, BertPreTrainingHeads cls) throws IOException {
        LinkedHashMap<String, Tensor> sd = BertKeys.normalise(Checkpoints.readStateDict(dir));
        try {
            boolean heads = cls != null && sd.keySet().stream().anyMatch(k -> k.startsWith("cls."));
            Map<String, Tensor> b = new LinkedHashMap<>(), h = new LinkedHashMap<>();
            sd.forEach((k, v) -> {
                if (k.startsWith("cls.")) h.put(k.substring(4), v);
                else b.put(k.startsWith("bert.") ? k.substring(5) : k, v);
            });
            // strict loading throws before copying anything; check both maps first so that neither is half loaded
            if (!matches(bert, b)) bert.loadStateDict(b);
            if (heads && !matches(cls, h)) cls.loadStateDict(h);
            bert.loadStateDict(b);
            if (heads) cls.loadStateDict(h);
            return heads;
        } finally {
            sd.values().forEach(Tensor::close);
        }
    }

    /** The tokenizer of the folder's vocab.txt (lower-casing unless tokenizer_config.json says do_lower_case false). */
    public static BertTokenizer tokenizer(Path dir) throws IOException {
        boolean lower = true;
        Path tc = dir.resolve("tokenizer_config.json");
        if (Files.isRegularFile(tc)) {
            var o = com.google.gson.JsonParser.parseString(Files.readString(tc)).getAsJsonObject();
            if (o.has("do_lower_case") && !o.get("do_lower_case").isJsonNull()) lower = o.get("do_lower_case").getAsBoolean();
        }
        return BertTokenizer.load(dir.resolve("vocab.txt"), lower);
    }

    /** Whether {@code sd} has exactly {@code m}'s state-dict keys, with the same shapes. */
    private static boolean matches(Module m, Map<String, Tensor> sd) {
        Map<String, Tensor> own = m.stateDict();
        if (!own.keySet().equals(sd.keySet())) return false;
        for (var e : own.entrySet()) if (!java.util.Arrays.equals(e.getValue().shape(), sd.get(e.getKey()).shape())) return false;
        return true;
    }
}
