package dev.clipvil.io;

import dev.clipvil.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reading and writing the safetensors format (an 8-byte little-endian header length, a JSON header,
 * then the raw little-endian data). Every malformed input fails with a {@link SafeTensorsException}
 * naming the file and the fault; nothing is ever half loaded.
 *
 * <pre>
 * try (SafeTensorsFile f = SafeTensors.open(path)) {
 *     Tensor w = f.tensor("visual_projection.weight"); // caller closes w
 * }
 * </pre>
 */
public final class SafeTensors {
    private SafeTensors() {}

    /** Opens {@code path} and validates its header; tensors are read on demand. */
    public static SafeTensorsFile open(Path path) throws IOException {
        return SafeTensorsFile.open(path);
    }

    /** Every tensor of {@code path}, in file order; the caller owns (closes) them. */
    public static Map<String, Tensor> readAll(Path path) throws IOException {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (SafeTensorsFile f = open(path)) {
            for (String name : f.names()) out.put(name, f.tensor(name));
            return out;
        } catch (IOException | RuntimeException | Error e) {
            for (Tensor t : out.values()) t.close();
            throw e;
        }
    }

    /**
     * Writes {@code tensors} (any dtype, any strides, any device) and {@code metadata} (may be null) to
     * {@code path}, atomically replacing an existing file. Header and data follow the map's iteration
     * order; see {@link SafeTensorsWriter}.
     */
    public static void write(Path path, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        SafeTensorsWriter.write(path, tensors, metadata);
    }

    /** {@link #write(Path, Map, Map)} without metadata. */
    public static void write(Path path, Map<String, Tensor> tensors) throws IOException {
        SafeTensorsWriter.write(path, tensors, null);
    }
}
