package dev.clipvil.clip;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes a {@link Clip} as a model folder that {@link ClipLoader#load} reads back: model.safetensors
 * in the key format the model came in (HF CLIPModel names when the source folder holds an HF
 * config.json, OpenAI names otherwise) and a config.json (the source's HF config as it was, or the
 * reference's constructor arguments, heads included, for OpenAI keys). Both files are replaced
 * atomically.
 */
public final class ClipSaver {
    private ClipSaver() {}

    /** The key format of the model at {@code source} (a folder or weights file), as the loader decides it. */
    public static boolean isHfSource(Path source) throws IOException {
        Path cfg = configBeside(source);
        if (!Files.isRegularFile(cfg)) return false;
        try {
            return HfClipConfig.isHfConfig(JsonParser.parseString(Files.readString(cfg)).getAsJsonObject());
        } catch (JsonParseException | IllegalStateException e) {
            throw new IOException(cfg + ": not a JSON object: " + e.getMessage(), e);
        }
    }

    /** Saves {@code model} into {@code outDir} (created if needed), in {@code source}'s key format. */
    public static void save(Clip model, Path source, Path outDir, Map<String, String> metadata) throws IOException {
        Files.createDirectories(outDir);
        boolean hf = isHfSource(source);
        LinkedHashMap<String, Tensor> sd = model.stateDict();
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        if (metadata != null) meta.putAll(metadata);
        if (hf) {
            LinkedHashMap<String, Tensor> hfSd = HfClipKeys.toHf(sd);
            try {
                SafeTensors.write(outDir.resolve("model.safetensors"), hfSd, meta);
            } finally {
                hfSd.values().forEach(Tensor::close);
            }
            Path src = configBeside(source);
            Path dst = outDir.resolve("config.json");
            if (!Files.isSameFile(src.getParent(), outDir)) {
                Path tmp = outDir.resolve("config.json.tmp");
                Files.copy(src, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, dst, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
        } else {
            SafeTensors.write(outDir.resolve("model.safetensors"), sd, meta);
            writeAtomically(outDir.resolve("config.json"), new GsonBuilder().setPrettyPrinting().create().toJson(constructorArgs(model.config())) + "\n");
        }
    }

    /** The reference's constructor arguments of {@code c} (plus vision_heads), as {@link ClipConfig#overriddenBy} reads them. */
    static JsonObject constructorArgs(ClipConfig c) {
        JsonObject j = new JsonObject();
        j.addProperty("embed_dim", c.embedDim());
        j.addProperty("image_resolution", c.imageResolution());
        if (c.isResNet()) {
            JsonArray a = new JsonArray();
            c.visionLayers().forEach(a::add);
            j.add("vision_layers", a);
        } else {
            j.addProperty("vision_layers", c.visionLayers().get(0));
            j.addProperty("vision_patch_size", c.visionPatchSize());
        }
        j.addProperty("vision_width", c.visionWidth());
        j.addProperty("vision_heads", c.visionHeads());
        j.addProperty("context_length", c.contextLength());
        j.addProperty("vocab_size", c.vocabSize());
        j.addProperty("transformer_width", c.transformerWidth());
        j.addProperty("transformer_heads", c.transformerHeads());
        j.addProperty("transformer_layers", c.transformerLayers());
        return j;
    }

    private static Path configBeside(Path source) {
        Path abs = source.toAbsolutePath();
        return Files.isDirectory(abs) ? abs.resolve("config.json") : abs.resolveSibling("config.json");
    }

    private static void writeAtomically(Path p, String text) throws IOException {
        Path tmp = p.resolveSibling(p.getFileName() + ".tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, p, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
