package dev.clipvil.clip;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * CLIP's BPE vocabulary: merge ranks and token ids. Either built from the merges list that CLIP ships
 * ({@code bpe_simple_vocab_16e6.txt.gz}: a header line, then one merge "a b" per line, of which the
 * reference uses the first 49152-256-2 = 48894) exactly as the reference builds it: ids 0..255 the
 * byte characters, 256..511 the same with the end-of-word marker {@code </w>}, then one id per merge
 * (the merged string), then {@code <|startoftext|>} 49406 and {@code <|endoftext|>} 49407; or read from
 * a Hugging Face model folder ({@code vocab.json} + {@code merges.txt}), which holds the same ids.
 */
public final class BpeVocabulary {
    /** How many merges the reference reads: 49152 - 256 - 2. */
    static final int MERGES = 49152 - 256 - 2;
    static final String START = "<|startoftext|>";
    static final String END = "<|endoftext|>";
    static final String END_OF_WORD = "</w>";

    private final Map<String, Integer> ids;
    private final String[] tokens;
    private final Map<String, Integer> ranks;
    private final int startId, endId, unknownId;
    private final String source;

    private BpeVocabulary(Map<String, Integer> ids, List<String[]> merges, String source, boolean unknownAsEnd) {
        this.ids = ids;
        this.source = source;
        int max = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1);
        this.tokens = new String[max + 1];
        ids.forEach((tok, id) -> tokens[id] = tok);
        this.ranks = new HashMap<>(merges.size() * 2);
        for (int i = 0; i < merges.size(); i++) ranks.put(pairKey(merges.get(i)[0], merges.get(i)[1]), i); // a repeated merge keeps its last rank, as the reference's dict does
        this.startId = required(START);
        this.endId = required(END);
        this.unknownId = unknownAsEnd ? endId : -1;
    }

    /**
     * The vocabulary at {@code path}: a Hugging Face folder holding {@code vocab.json} and
     * {@code merges.txt}, or a CLIP merges file (gzip-compressed, as shipped, or plain text).
     */
    public static BpeVocabulary load(Path path) throws IOException {
        if (Files.isDirectory(path)) return fromHuggingFace(path);
        return fromMerges(path);
    }

    /** The vocabulary of a CLIP merges file ({@code bpe_simple_vocab_16e6.txt.gz}, or the same unzipped). */
    public static BpeVocabulary fromMerges(Path file) throws IOException {
        List<String[]> merges = readMerges(file, readText(file));
        List<String> vocab = new ArrayList<>(2 * 256 + merges.size() + 2);
        for (char c : ByteUnicode.alphabet()) vocab.add(String.valueOf(c));
        for (char c : ByteUnicode.alphabet()) vocab.add(c + END_OF_WORD);
        for (String[] m : merges) vocab.add(m[0] + m[1]);
        vocab.add(START);
        vocab.add(END);
        Map<String, Integer> ids = new HashMap<>(vocab.size() * 2);
        for (int i = 0; i < vocab.size(); i++) ids.put(vocab.get(i), i); // a repeated string keeps its last id, as the reference's dict does
        return new BpeVocabulary(ids, merges, file.toString(), false);
    }

    /** The vocabulary of a Hugging Face CLIP folder: {@code vocab.json} (token to id) and {@code merges.txt}. */
    public static BpeVocabulary fromHuggingFace(Path dir) throws IOException {
        Path vocabFile = dir.resolve("vocab.json"), mergesFile = dir.resolve("merges.txt");
        for (Path p : List.of(vocabFile, mergesFile)) {
            if (!Files.isRegularFile(p)) throw new IOException(dir + ": not a CLIP tokenizer folder (no " + p.getFileName() + ")");
        }
        Map<String, Integer> ids = new HashMap<>();
        try {
            JsonObject json = JsonParser.parseString(Files.readString(vocabFile, StandardCharsets.UTF_8)).getAsJsonObject();
            for (Map.Entry<String, JsonElement> e : json.entrySet()) ids.put(e.getKey(), e.getValue().getAsInt());
        } catch (JsonParseException | IllegalStateException | NumberFormatException | UnsupportedOperationException e) {
            throw new IOException(vocabFile + ": not a token-to-id JSON object (" + e.getMessage() + ")", e);
        }
        for (int id : ids.values()) {
            if (id < 0) throw new IOException(vocabFile + ": negative token id " + id);
        }
        List<String[]> merges = readMerges(mergesFile, readText(mergesFile));
        return new BpeVocabulary(ids, merges, dir.toString(), true);
    }

    /**
     * The merges the reference reads: the text without surrounding white space, split into lines, the
     * first line (a header) dropped, at most {@link #MERGES} lines kept, each split at white space into
     * exactly two symbols.
     */
    private static List<String[]> readMerges(Path file, String text) throws IOException {
        String[] lines = text.strip().split("\n", -1);
        int end = Math.min(lines.length, 1 + MERGES);
        List<String[]> merges = new ArrayList<>(Math.max(0, end - 1));
        for (int i = 1; i < end; i++) {
            String[] parts = lines[i].strip().split("\\s+");
            if (parts.length != 2) throw new IOException(file + ": line " + (i + 1) + " is not a merge of two symbols: " + lines[i]);
            merges.add(parts);
        }
        if (merges.isEmpty()) throw new IOException(file + ": no merges");
        return merges;
    }

    private static String readText(Path file) throws IOException {
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file))) {
            raw.mark(2);
            boolean gz = raw.read() == 0x1F && raw.read() == 0x8B;
            raw.reset();
            try (InputStream in = gz ? new GZIPInputStream(raw, 1 << 16) : raw) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        } catch (java.util.zip.ZipException e) {
            throw new IOException(file + ": corrupt gzip data (" + e.getMessage() + ")", e);
        }
    }

    private int required(String token) {
        Integer id = ids.get(token);
        if (id == null) throw new IllegalArgumentException(source + ": the vocabulary has no " + token + " token");
        return id;
    }

    static String pairKey(String a, String b) {
        return a + ' ' + b;
    }

    /** The rank of merging {@code a} and {@code b} (lower merges first), or -1 if they never merge. */
    int rank(String a, String b) {
        Integer r = ranks.get(pairKey(a, b));
        return r == null ? -1 : r;
    }

    /** The id of BPE token {@code token}; a token the vocabulary lacks is an error (reference), or {@code <|endoftext|>} in a Hugging Face vocabulary (its unknown token). */
    int id(String token) {
        Integer id = ids.get(token);
        if (id != null) return id;
        if (unknownId >= 0) return unknownId;
        throw new IllegalStateException(source + ": BPE produced " + token + ", which is not in the vocabulary");
    }

    /** The token string of {@code id} (with {@code </w>} markers, in byte characters), or null if none. */
    String token(int id) {
        return id >= 0 && id < tokens.length ? tokens[id] : null;
    }

    public int startId() { return startId; }

    public int endId() { return endId; }

    /** One more than the largest id: 49408 for CLIP. */
    public int size() { return tokens.length; }

    /** How many merges the vocabulary uses. */
    public int mergeCount() { return ranks.size(); }

    /** Where the vocabulary was read from. */
    public String source() { return source; }

    /** Every token in id order (null where an id is unused); for writing a {@code vocab.json}. */
    public List<String> tokens() { return Arrays.asList(tokens.clone()); }

    @Override
    public String toString() {
        return "BpeVocabulary(" + source + ", " + size() + " ids, " + mergeCount() + " merges)";
    }
}
