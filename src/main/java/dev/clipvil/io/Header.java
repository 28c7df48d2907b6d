package dev.clipvil.io;

import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;

import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A parsed and validated safetensors header: the tensor entries in file order (by data offset) and
 * the {@code __metadata__} map. Parsing checks everything the format promises, so that reading a
 * tensor later can trust the offsets: valid UTF-8, strict JSON, a top-level object without duplicate
 * keys, complete entries, known dtypes, sizes that match the shapes, and data_offsets that tile the
 * data section exactly (no gap, overlap or trailing bytes), as the specification requires.
 */
record Header(List<TensorInfo> tensors, Map<String, String> metadata) {
    static final String METADATA_KEY = "__metadata__";

    /** Parses {@code json} (the header bytes) of a file whose data section is {@code dataLength} bytes. */
    static Header parse(Path file, byte[] json, long dataLength) throws SafeTensorsException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(json)).toString();
        } catch (CharacterCodingException e) {
            throw new SafeTensorsException(file, "header is not valid UTF-8");
        }
        List<TensorInfo> tensors = new ArrayList<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        try (JsonReader r = new JsonReader(new StringReader(text))) {
            r.setStrictness(Strictness.STRICT);
            if (r.peek() != JsonToken.BEGIN_OBJECT) {
                throw new SafeTensorsException(file, "header is not a JSON object (it starts with " + r.peek() + ")");
            }
            r.beginObject();
            Set<String> seen = new HashSet<>();
            while (r.hasNext()) {
                String name = r.nextName();
                if (!seen.add(name)) throw new SafeTensorsException(file, "header has the key '" + name + "' twice");
                if (name.equals(METADATA_KEY)) readMetadata(file, r, metadata);
                else tensors.add(readEntry(file, r, name));
            }
            r.endObject();
            if (r.peek() != JsonToken.END_DOCUMENT) throw new SafeTensorsException(file, "header has content after its JSON object");
        } catch (SafeTensorsException e) {
            throw e;
        } catch (IOException | IllegalStateException | NumberFormatException e) {
            throw new SafeTensorsException(file, "header is not valid JSON: " + jsonProblem(e), e);
        }
        checkCoverage(file, tensors, dataLength);
        return new Header(List.copyOf(tensors), Collections.unmodifiableMap(metadata));
    }

    /** Gson's message without its advice to parse leniently, its documentation link and its JSON path. */
    private static String jsonProblem(Exception e) {
        String m = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
        m = m.replace("Use JsonReader.setStrictness(Strictness.LENIENT) to accept ", "");
        int path = m.lastIndexOf(" path $");
        return path > 0 ? m.substring(0, path) : m;
    }

    private static void readMetadata(Path file, JsonReader r, Map<String, String> out) throws IOException {
        if (r.peek() == JsonToken.NULL) {
            r.nextNull();
            return;
        }
        if (r.peek() != JsonToken.BEGIN_OBJECT) throw new SafeTensorsException(file, "__metadata__ is not a JSON object");
        r.beginObject();
        while (r.hasNext()) {
            String key = r.nextName();
            if (r.peek() != JsonToken.STRING) throw new SafeTensorsException(file, "__metadata__ value of '" + key + "' is not a string");
            if (out.put(key, r.nextString()) != null) throw new SafeTensorsException(file, "__metadata__ has the key '" + key + "' twice");
        }
        r.endObject();
    }

    private static TensorInfo readEntry(Path file, JsonReader r, String name) throws IOException {
        String where = "tensor '" + name + "'";
        if (r.peek() != JsonToken.BEGIN_OBJECT) throw new SafeTensorsException(file, where + ": entry is not a JSON object");
        String dtype = null;
        long[] shape = null, offsets = null;
        r.beginObject();
        while (r.hasNext()) {
            String key = r.nextName();
            switch (key) {
                case "dtype":
                    if (dtype != null) throw new SafeTensorsException(file, where + ": 'dtype' given twice");
                    if (r.peek() != JsonToken.STRING) throw new SafeTensorsException(file, where + ": 'dtype' is not a string");
                    dtype = r.nextString();
                    break;
                case "shape":
                    if (shape != null) throw new SafeTensorsException(file, where + ": 'shape' given twice");
                    shape = readInts(file, r, where + ": 'shape'");
                    break;
                case "data_offsets":
                    if (offsets != null) throw new SafeTensorsException(file, where + ": 'data_offsets' given twice");
                    offsets = readInts(file, r, where + ": 'data_offsets'");
                    break;
                default:
                    r.skipValue(); // unknown fields are tolerated, as other readers do
            }
        }
        r.endObject();
        if (dtype == null) throw new SafeTensorsException(file, where + ": missing 'dtype'");
        if (shape == null) throw new SafeTensorsException(file, where + ": missing 'shape'");
        if (offsets == null) throw new SafeTensorsException(file, where + ": missing 'data_offsets'");
        if (offsets.length != 2) throw new SafeTensorsException(file, where + ": 'data_offsets' must be [begin, end], got " + offsets.length + " numbers");
        long begin = offsets[0], end = offsets[1];
        if (end < begin) throw new SafeTensorsException(file, where + ": data_offsets [" + begin + ", " + end + "] decrease");
        FileDType ft = FileDType.parse(dtype);
        if (ft == null) throw new SafeTensorsException(file, where + ": unknown dtype '" + dtype + "'");
        long bytes;
        try {
            long numel = 1;
            for (long d : shape) numel = Math.multiplyExact(numel, d);
            bytes = ft.byteLength(numel);
        } catch (ArithmeticException e) {
            throw new SafeTensorsException(file, where + ": shape " + java.util.Arrays.toString(shape) + " is too large");
        }
        if (bytes != end - begin) {
            throw new SafeTensorsException(file, where + ": shape " + java.util.Arrays.toString(shape) + " of " + dtype
                    + (bytes < 0 ? " is not a whole number of bytes" : " needs " + bytes + " bytes")
                    + " but data_offsets [" + begin + ", " + end + "] hold " + (end - begin));
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static long[] readInts(Path file, JsonReader r, String what) throws IOException {
        if (r.peek() != JsonToken.BEGIN_ARRAY) throw new SafeTensorsException(file, what + " is not a JSON array");
        List<Long> xs = new ArrayList<>();
        r.beginArray();
        while (r.hasNext()) {
            if (r.peek() != JsonToken.NUMBER) throw new SafeTensorsException(file, what + " holds a non-number");
            long v;
            try {
                v = r.nextLong();
            } catch (NumberFormatException e) {
                throw new SafeTensorsException(file, what + " holds a number that is not a 64-bit integer");
            }
            if (v < 0) throw new SafeTensorsException(file, what + " holds the negative number " + v);
            xs.add(v);
        }
        r.endArray();
        long[] out = new long[xs.size()];
        for (int i = 0; i < out.length; i++) out[i] = xs.get(i);
        return out;
    }

    /** Sorts {@code tensors} by offset and checks that they tile [0, dataLength) exactly. */
    private static void checkCoverage(Path file, List<TensorInfo> tensors, long dataLength) throws SafeTensorsException {
        tensors.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long next = 0;
        TensorInfo prev = null;
        for (TensorInfo t : tensors) {
            if (t.end() > dataLength) {
                throw new SafeTensorsException(file, "tensor '" + t.name() + "' data_offsets [" + t.begin() + ", " + t.end()
                        + "] reach past the end of the data section (" + dataLength + " bytes): offsets out of range or file truncated");
            }
            if (t.begin() < next) {
                throw new SafeTensorsException(file, "tensors '" + prev.name() + "' [" + prev.begin() + ", " + prev.end() + "] and '"
                        + t.name() + "' [" + t.begin() + ", " + t.end() + "] overlap");
            }
            if (t.begin() > next) {
                throw new SafeTensorsException(file, "data bytes [" + next + ", " + t.begin() + ") belong to no tensor"
                        + " (the data_offsets must cover the data section contiguously)");
            }
            next = t.end();
            prev = t;
        }
        if (next != dataLength) {
            throw new SafeTensorsException(file, "the data section has " + dataLength + " bytes but the tensors cover only "
                    + next + " (trailing bytes after the last tensor)");
        }
    }
}
