package dev.clipvil.vil;

import dev.clipvil.io.Checkpoints;
import dev.clipvil.nn.Init;
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
        LinkedHashMap<String, Tensor> sd = BertKeys.normalise(Checkpoints.readStateDict(dir));
        BertForPreTraining m = new BertForPreTraining(c, new Init(0));
        try {
            boolean heads = sd.keySet().stream().anyMatch(k -> k.startsWith("cls."));
            if (heads) {
                m.loadStateDict(sd);
            } else {
                m.bert().loadStateDict(strip(sd));
            }
        } catch (RuntimeException e) {
            m.close();
            throw e;
        } finally {
            sd.values().forEach(Tensor::close);
        }
        m.eval();
        return m;
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

    private static Map<String, Tensor> strip(Map<String, Tensor> sd) {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        sd.forEach((k, v) -> out.put(k.startsWith("bert.") ? k.substring(5) : k, v));
        return out;
    }
}
