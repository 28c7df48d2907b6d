package dev.clipvil.clip;

import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.nn.Init;
import dev.clipvil.nn.StateDictException;
import dev.clipvil.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Loads a CLIP model from the formats its weights come in, detected from what is there:
 * <ul>
 * <li>an HF {@code CLIPModel} folder: config.json with text_config / vision_config and
 *     model.safetensors with HF key names (mapped by {@link HfClipKeys}; heads and activations from
 *     the config);</li>
 * <li>OpenAI-format weights (OpenAI's / open_clip's key names): a .safetensors file, or a folder
 *     holding one, with the configuration inferred from the shapes as the reference's build_model
 *     does; an optional config.json beside the weights holding the reference's constructor arguments
 *     overrides the inferred values (tiny models whose heads are not width / 64 need it);</li>
 * <li>PyTorch files (.pt, .bin, .pth) through {@link #readStateDict}.</li>
 * </ul>
 * Loading is strict: every missing, unexpected or mis-shaped key is named and nothing is half loaded.
 */
public final class ClipLoader {
    private ClipLoader() {}

    /** Entries of OpenAI's released state dicts that are not parameters (the reference's build_model deletes them). */
    private static final List<String> OPENAI_NON_PARAMETERS = List.of("input_resolution", "context_length", "vocab_size");

    /** The model at {@code path} (a weights file or a folder), in eval mode. */
    public static Clip load(Path path) throws IOException {
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString(), null, "no CLIP weights there");
        Path weights = Files.isDirectory(path) ? weightsIn(path) : path;
        Path configPath = weights.resolveSibling("config.json");
        JsonObject json = Files.isRegularFile(configPath) ? readJson(configPath) : null;
        Map<String, Tensor> sd = readStateDict(weights);
        Map<String, Tensor> mapped = sd;
        try {
            ClipConfig config;
            String format;
            if (HfClipKeys.isHf(sd.keySet())) {
                format = "HF CLIPModel";
                if (json == null || !HfClipConfig.isHfConfig(json)) {
                    throw new IllegalArgumentException(weights + " has HF CLIPModel key names but there is no HF config.json (with text_config and vision_config) beside it"
                            + " to give the attention heads");
                }
                mapped = HfClipKeys.toOpenAi(sd);
                config = HfClipConfig.apply(json, ClipConfig.fromStateDictShapes(shapes(mapped)));
            } else {
                format = "OpenAI";
                mapped = new LinkedHashMap<>(sd);
                mapped.keySet().removeAll(OPENAI_NON_PARAMETERS);
                config = ClipConfig.fromStateDictShapes(shapes(mapped));
                if (json != null) {
                    if (HfClipConfig.isHfConfig(json)) {
                        throw new IllegalArgumentException(configPath + " is an HF CLIPModel config but " + weights + " has OpenAI key names");
                    }
                    config = config.overriddenBy(json);
                }
            }
            return build(config, mapped, weights, format);
        } finally {
            for (Tensor t : sd.values()) t.close();
            if (mapped != sd) for (Tensor t : mapped.values()) t.close();
        }
    }

    private static Clip build(ClipConfig config, Map<String, Tensor> sd, Path weights, String format) {
        Clip model = new Clip(config, new Init(0));
        try {
            model.loadStateDict(sd, true);
        } catch (StateDictException e) {
            model.close();
            throw new IllegalArgumentException(weights + " (" + format + " format, " + config + "): " + e.getMessage(), e);
        }
        model.eval();
        return model;
    }

    /**
     * Every tensor of a weights file, by name; the caller closes them. Safetensors are read here;
     * PyTorch pickles and TorchScript archives are the io layer's to read, and this is the one place
     * where that reader plugs in.
     */
    public static Map<String, Tensor> readStateDict(Path file) throws IOException {
        String name = file.getFileName().toString().toLowerCase();
        if (name.endsWith(".safetensors")) return SafeTensors.readAll(file);
        throw new IOException(file + ": only .safetensors weights can be read by this build (a PyTorch .pt/.bin file needs the io PyTorch reader);"
                + " convert it with safetensors' save_file(state_dict)");
    }

    /** The weights file of a model folder: model.safetensors, else its only .safetensors / .pt / .bin / .pth file. */
    private static Path weightsIn(Path dir) throws IOException {
        Path preferred = dir.resolve("model.safetensors");
        if (Files.isRegularFile(preferred)) return preferred;
        List<Path> found = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString().toLowerCase();
                return n.endsWith(".safetensors") || n.endsWith(".pt") || n.endsWith(".bin") || n.endsWith(".pth");
            }).sorted().forEach(found::add);
        }
        if (found.size() == 1) return found.get(0);
        if (found.isEmpty()) throw new NoSuchFileException(dir.toString(), null, "no model.safetensors (or other .safetensors/.pt/.bin/.pth weights) in this folder");
        throw new IOException(dir + ": several weights files and no model.safetensors; name one of them: " + found);
    }

    private static JsonObject readJson(Path p) throws IOException {
        try {
            return JsonParser.parseString(Files.readString(p)).getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw new IOException(p + ": not a JSON object: " + e.getMessage(), e);
        }
    }

    private static Map<String, int[]> shapes(Map<String, Tensor> sd) {
        Map<String, int[]> out = new LinkedHashMap<>();
        sd.forEach((k, t) -> out.put(k, t.shape()));
        return out;
    }
}
