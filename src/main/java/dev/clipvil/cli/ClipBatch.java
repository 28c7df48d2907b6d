package dev.clipvil.cli;

import dev.clipvil.backend.Backends;
import dev.clipvil.clip.ClipConfig;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.io.SafeTensorsFile;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A batch of CLIP inputs as the commands read them: {@code pixel_values} [N, 3, R, R] (floating, cast
 * to F32) and/or {@code input_ids} [N, S] (I32 or I64, S at most the context length), each null when
 * absent. Shapes are checked against the model's config with messages that name the file and key.
 * The caller owns (closes) the tensors.
 */
record ClipBatch(Tensor pixels, Tensor ids) implements AutoCloseable {
    static final String PIXELS = "pixel_values", IDS = "input_ids";

    /** Reads the inputs of {@code file}; at least one of the two keys must be there. */
    static ClipBatch read(Path file, ClipConfig config) throws IOException {
        Tensor pixels = null, ids = null;
        try (SafeTensorsFile f = SafeTensors.open(file)) {
            if (!f.contains(PIXELS) && !f.contains(IDS)) {
                throw new IllegalArgumentException(file + ": neither '" + PIXELS + "' nor '" + IDS + "' is there (it has " + f.names() + ")");
            }
            if (f.contains(PIXELS)) pixels = checkPixels(file + ": '" + PIXELS + "'", f.tensor(PIXELS), config);
            if (f.contains(IDS)) ids = checkIds(file + ": '" + IDS + "'", f.tensor(IDS), config);
        } catch (IOException | RuntimeException e) {
            if (pixels != null) pixels.close();
            if (ids != null) ids.close();
            throw e;
        }
        return new ClipBatch(pixels, ids);
    }

    /** {@code t} checked as [N, 3, R, R], cast to F32 if it is another floating type (the input is then closed). */
    static Tensor checkPixels(String what, Tensor t, ClipConfig config) {
        int r = config.imageResolution();
        if (!t.dtype().isFloating()) {
            t.close();
            throw new IllegalArgumentException(what + " must be floating point, got " + t.dtype());
        }
        if (t.dim() != 4 || t.shape(1) != 3 || t.shape(2) != r || t.shape(3) != r || t.shape(0) < 1) {
            String s = Shapes.str(t.shape());
            t.close();
            throw new IllegalArgumentException(what + " has shape " + s + ", the model expects [N, 3, " + r + ", " + r + "]");
        }
        if (t.dtype() == DType.F32) return t;
        Tensor f = Backends.of(t).cast(t, DType.F32);
        t.close();
        return f;
    }

    /** {@code t} checked as [N, S] I32/I64 with 1 <= S <= the context length and ids inside the vocabulary. */
    static Tensor checkIds(String what, Tensor t, ClipConfig config) {
        String problem = null;
        if (t.dtype() != DType.I32 && t.dtype() != DType.I64) problem = " must be I32 or I64 token ids, got " + t.dtype();
        else if (t.dim() != 2 || t.shape(0) < 1 || t.shape(1) < 1 || t.shape(1) > config.contextLength()) {
            problem = " has shape " + Shapes.str(t.shape()) + ", the model expects [N, S] with S <= " + config.contextLength();
        } else {
            long[] v = t.toLongArray();
            for (int i = 0; i < v.length; i++) {
                if (v[i] < 0 || v[i] >= config.vocabSize()) {
                    problem = " holds id " + v[i] + " at row " + i / t.shape(1) + ", position " + i % t.shape(1) + ", outside the vocabulary [0, " + config.vocabSize() + ")";
                    break;
                }
            }
        }
        if (problem != null) {
            t.close();
            throw new IllegalArgumentException(what + problem);
        }
        return t;
    }

    /** This batch on {@code c}'s device: itself on the CPU, else device copies (the host tensors are then closed; on failure, all are). */
    ClipBatch on(Compute c) {
        Tensor px = null;
        try {
            px = c.onDevice(pixels);
            return new ClipBatch(px, c.onDevice(ids));
        } catch (RuntimeException | Error e) {
            close();
            if (px != null) px.close();
            throw e;
        }
    }

    int size() { return pixels != null ? pixels.shape(0) : ids.shape(0); }

    @Override
    public void close() {
        if (pixels != null) pixels.close();
        if (ids != null) ids.close();
    }
}
