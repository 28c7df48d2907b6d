package dev.clipvil.io;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.clipvil.io.torch.TorchCheckpoint;
import dev.clipvil.tensor.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * One entry point for weights in any supported format, chosen from the content, not the file name:
 *
 * <ul>
 *   <li>a safetensors file (an 8-byte little-endian header length, then a JSON object);</li>
 *   <li>a PyTorch zip, {@code torch.save} or TorchScript ({@code PK} magic; see {@link TorchCheckpoint});</li>
 *   <li>a model folder (Hugging Face layout): {@code model.safetensors}, else the shards listed by
 *       {@code model.safetensors.index.json}, else {@code pytorch_model.bin}.</li>
 * </ul>
 *
 * Pre-1.6 {@code torch.save} files (a bare pickle stream, not a zip) are recognised and refused with
 * a message saying how to re-save them.
 */
public final class Checkpoints {
    private Checkpoints() {}

    /** Folder entries tried in order. */
    static final String[] FOLDER_FILES = {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"};

    /** The file that holds the weights of {@code path} and its format. */
    public record Source(Path file, CheckpointFormat format) {}

    /** Finds the weight file of {@code path} (itself, or the one in a model folder) and detects its format. */
    public static Source locate(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            for (String name : FOLDER_FILES) {
                Path f = path.resolve(name);
                if (Files.isRegularFile(f)) return new Source(f, detect(f));
            }
            throw new CheckpointException(path, "folder holds no weights (looked for " + String.join(", ", FOLDER_FILES) + ")");
        }
        return new Source(path, detect(path));
    }

    /** The format of the file {@code file}, from its first bytes (and, for zips, its records). */
    public static CheckpointFormat detect(Path file) throws IOException {
        byte[] head = new byte[16];
        int n;
        long size;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, head.length);
            size = Files.size(file);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file, "no such file", e);
        } catch (AccessDeniedException e) {
            throw new CheckpointException(file, "permission denied", e);
        }
        if (n >= 4 && head[0] == 'P' && head[1] == 'K' && ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6))) {
            return TorchCheckpoint.format(file);
        }
        if (n >= 9) {
            long headerLength = ByteBuffer.wrap(head, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (headerLength > 0 && headerLength <= size - 8 && head[8] == '{') {
                return CheckpointFormat.SAFETENSORS;
            }
        }
        if (n >= 1 && head[0] == '{' && file.getFileName().toString().endsWith(".json")) return jsonIndex(file);
        if (n >= 2 && (head[0] & 0xff) == 0x80 && head[1] >= 2 && head[1] <= 5) {
            throw new CheckpointException(file, "is a legacy torch.save file (a bare pickle stream, written by PyTorch before 1.6 or with"
                    + " _use_new_zipfile_serialization=False), which clipvil does not read: re-save it with a current torch.save or as safetensors");
        }
        StringBuilder hex = new StringBuilder();
        for (int i = 0; i < Math.min(n, 8); i++) hex.append(String.format(i == 0 ? "%02x" : " %02x", head[i] & 0xff));
        throw new CheckpointException(file, "unsupported checkpoint format (" + (n == 0 ? "empty file" : "starts with bytes " + hex)
                + "): expected safetensors, a PyTorch .pt/.bin zip, a TorchScript archive or a model folder");
    }

    private static CheckpointFormat jsonIndex(Path file) throws CheckpointException {
        if (!file.getFileName().toString().endsWith(".index.json")) {
            throw new CheckpointException(file, "unsupported checkpoint format: a JSON file that is not a safetensors index (*.index.json)");
        }
        return CheckpointFormat.SAFETENSORS_SHARDED;
    }

    /**
     * Every tensor that {@code path} (a file or a model folder, any supported format) holds, in the
     * file's order, contiguous; the caller owns (closes) them.
     */
    public static LinkedHashMap<String, Tensor> readStateDict(Path path) throws IOException {
        return readStateDict(locate(path));
    }

    /** Every tensor of a located checkpoint (see {@link #locate}); the caller owns (closes) them. */
    public static LinkedHashMap<String, Tensor> readStateDict(Source s) throws IOException {
        return switch (s.format()) {
            case SAFETENSORS -> new LinkedHashMap<>(SafeTensors.readAll(s.file()));
            case SAFETENSORS_SHARDED -> readSharded(s.file());
            case TORCH_SAVE, TORCHSCRIPT -> TorchCheckpoint.readStateDict(s.file());
        };
    }

    /** The shards named by a {@code model.safetensors.index.json} weight map; every listed name must be found. */
    private static LinkedHashMap<String, Tensor> readSharded(Path index) throws IOException {
        Map<String, String> weightMap = new LinkedHashMap<>();
        try {
            JsonObject root = JsonParser.parseString(Files.readString(index)).getAsJsonObject();
            JsonElement wm = root.get("weight_map");
            if (wm == null || !wm.isJsonObject()) throw new CheckpointException(index, "has no \"weight_map\" object");
            for (Map.Entry<String, JsonElement> e : wm.getAsJsonObject().entrySet()) weightMap.put(e.getKey(), e.getValue().getAsString());
        } catch (JsonParseException | IllegalStateException | UnsupportedOperationException e) {
            throw new CheckpointException(index, "is not a valid safetensors index: " + e.getMessage(), e);
        }
        Set<String> shards = new LinkedHashSet<>(weightMap.values());
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        try {
            Path dir = index.toAbsolutePath().getParent();
            for (String shard : shards) {
                Path f = dir.resolve(shard).normalize();
                if (!f.startsWith(dir)) throw new CheckpointException(index, "shard '" + shard + "' lies outside the model folder");
                Map<String, Tensor> part = SafeTensors.readAll(f);
                String duplicate = null;
                for (Map.Entry<String, Tensor> e : part.entrySet()) {
                    if (duplicate == null && !out.containsKey(e.getKey())) out.put(e.getKey(), e.getValue());
                    else {
                        if (duplicate == null) duplicate = e.getKey();
                        e.getValue().close();
                    }
                }
                if (duplicate != null) throw new CheckpointException(f, "tensor '" + duplicate + "' appears in two shards");
            }
            for (String name : weightMap.keySet()) {
                if (!out.containsKey(name)) throw new CheckpointException(index, "tensor '" + name + "' is listed in the weight map but its shard '"
                        + weightMap.get(name) + "' does not hold it");
            }
            return out;
        } catch (IOException | RuntimeException | Error e) {
            for (Tensor t : out.values()) t.close();
            throw e;
        }
    }
}
