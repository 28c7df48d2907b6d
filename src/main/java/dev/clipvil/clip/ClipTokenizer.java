package dev.clipvil.clip;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CLIP's byte-level BPE tokenizer, giving the ids of OpenAI's {@code simple_tokenizer.py}: the text is
 * cleaned ({@link TextCleaner}), split into words by the reference pattern (the two special tokens,
 * the contractions 's 't 're 've 'm 'll 'd, runs of letters, single digits, runs of other non-space
 * characters), each word's UTF-8 bytes are mapped to characters ({@link ByteUnicode}), the last one
 * marked with {@code </w>}, and merged pair by pair, lowest merge rank first. Results per word are
 * cached. Thread-safe.
 *
 * <p>Known differences from the reference: ftfy's mojibake repair is not applied (see {@link FtfyFixes});
 * letters, digits and case mappings are Java 17's (Unicode 13), so characters assigned by later Unicode
 * versions split and lower-case as unassigned ones.
 */
public final class ClipTokenizer {
    /** The context length of every released CLIP model. */
    public static final int CONTEXT_LENGTH = 77;
    private static final int CACHE_LIMIT = 200_000;
    /** {@code \s} is Unicode White_Space, {@code \p{L}}/{@code \p{N}} the general categories, case-insensitive as the reference. */
    private static final Pattern WORDS = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);

    private final BpeVocabulary vocab;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    public ClipTokenizer(BpeVocabulary vocab) {
        this.vocab = vocab;
    }

    /** A tokenizer over the vocabulary at {@code path} (see {@link BpeVocabulary#load}). */
    public static ClipTokenizer load(Path path) throws IOException {
        return new ClipTokenizer(BpeVocabulary.load(path));
    }

    public BpeVocabulary vocabulary() { return vocab; }

    /** The ids of {@code text}, without start and end tokens. */
    public int[] encode(String text) {
        String clean = TextCleaner.clean(text);
        List<int[]> parts = new ArrayList<>();
        int n = 0;
        Matcher m = WORDS.matcher(clean);
        while (m.find()) {
            int[] ids = word(m.group());
            parts.add(ids);
            n += ids.length;
        }
        int[] out = new int[n];
        int at = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    /** {@code <|startoftext|>}, the ids of {@code text}, {@code <|endoftext|>}. */
    public int[] encodeWithSpecials(String text) {
        int[] body = encode(text);
        int[] out = new int[body.length + 2];
        out[0] = vocab.startId();
        System.arraycopy(body, 0, out, 1, body.length);
        out[out.length - 1] = vocab.endId();
        return out;
    }

    /**
     * The text of {@code ids}, as the reference decodes: token strings joined, mapped back to bytes,
     * read as UTF-8 (malformed sequences become U+FFFD), each {@code </w>} replaced by a space.
     * Special tokens decode to their names.
     */
    public String decode(int[] ids) {
        StringBuilder chars = new StringBuilder();
        for (int id : ids) {
            String tok = vocab.token(id);
            if (tok == null) throw new IllegalArgumentException("token id " + id + " is not in the vocabulary (0.." + (vocab.size() - 1) + ")");
            chars.append(tok);
        }
        byte[] bytes = new byte[chars.length()];
        for (int i = 0; i < bytes.length; i++) {
            int b = ByteUnicode.decode(chars.charAt(i));
            if (b < 0) throw new IllegalStateException("vocabulary token holds a character outside the byte table: " + chars.charAt(i));
            bytes[i] = (byte) b;
        }
        try {
            String text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPLACE)
                    .onUnmappableCharacter(CodingErrorAction.REPLACE)
                    .decode(ByteBuffer.wrap(bytes)).toString();
            return text.replace(BpeVocabulary.END_OF_WORD, " ");
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IllegalStateException(e); // cannot happen with REPLACE
        }
    }

    /** {@link #tokenize(List, int, boolean, DType)} as int32 with the default context length, not truncating. */
    public Tensor tokenize(List<String> texts) {
        return tokenize(texts, CONTEXT_LENGTH, false, DType.I32);
    }

    /** {@link #tokenize(List, int, boolean, DType)} as int32. */
    public Tensor tokenize(List<String> texts, int contextLength, boolean truncate) {
        return tokenize(texts, contextLength, truncate, DType.I32);
    }

    /**
     * A {@code [texts.size(), contextLength]} tensor (I32 or I64): each row {@code <|startoftext|>},
     * the ids, {@code <|endoftext|>}, then zeros. A text that does not fit is an
     * IllegalArgumentException naming it and its length, or, with {@code truncate}, is cut to
     * {@code contextLength} tokens whose last is replaced by {@code <|endoftext|>}, as the reference does.
     */
    public Tensor tokenize(List<String> texts, int contextLength, boolean truncate, DType dtype) {
        int[][] rows = tokenizeToArrays(texts, contextLength, truncate);
        int n = texts.size();
        if (dtype == DType.I32) {
            int[] flat = new int[n * contextLength];
            for (int i = 0; i < n; i++) System.arraycopy(rows[i], 0, flat, i * contextLength, rows[i].length);
            return Tensor.ofInts(flat, n, contextLength);
        }
        if (dtype == DType.I64) {
            long[] flat = new long[n * contextLength];
            for (int i = 0; i < n; i++) for (int j = 0; j < rows[i].length; j++) flat[i * contextLength + j] = rows[i][j];
            return Tensor.ofLongs(flat, n, contextLength);
        }
        throw new dev.clipvil.tensor.DTypeException("tokenize: token ids are I32 or I64, not " + dtype);
    }

    /**
     * Each text's ids with start and end tokens, no padding, checked (or truncated) against
     * {@code contextLength} as {@link #tokenize(List, int, boolean, DType)} does.
     */
    public int[][] tokenizeToArrays(List<String> texts, int contextLength, boolean truncate) {
        if (contextLength < 2) throw new IllegalArgumentException("context length must be at least 2, got " + contextLength);
        if ((long) texts.size() * contextLength > Integer.MAX_VALUE) throw new IllegalArgumentException("too many texts: " + texts.size());
        int[][] rows = new int[texts.size()][];
        for (int i = 0; i < rows.length; i++) {
            int[] ids = encodeWithSpecials(texts.get(i));
            if (ids.length > contextLength) {
                if (!truncate) {
                    throw new IllegalArgumentException("text " + (i + 1) + " is " + ids.length + " tokens with start and end tokens, "
                            + "longer than the context length " + contextLength + " (truncate to cut it): " + abbreviate(texts.get(i)));
                }
                ids = Arrays.copyOf(ids, contextLength);
                ids[contextLength - 1] = vocab.endId();
            }
            rows[i] = ids;
        }
        return rows;
    }

    private static String abbreviate(String text) {
        String oneLine = text.replaceAll("\\s+", " ");
        return "\"" + (oneLine.length() > 120 ? oneLine.substring(0, 117) + "..." : oneLine) + "\"";
    }

    /** The ids of one pre-tokenised word (cached). */
    private int[] word(String word) {
        if (word.equals(BpeVocabulary.START)) return new int[] {vocab.startId()};
        if (word.equals(BpeVocabulary.END)) return new int[] {vocab.endId()};
        String chars = ByteUnicode.encode(word.getBytes(StandardCharsets.UTF_8));
        int[] cached = cache.get(chars);
        if (cached != null) return cached;
        List<String> symbols = bpe(chars);
        int[] ids = new int[symbols.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = vocab.id(symbols.get(i));
        if (cache.size() >= CACHE_LIMIT) cache.clear();
        cache.put(chars, ids);
        return ids;
    }

    /** Byte-pair merging of one word: its characters, the last with {@code </w>}, merged lowest rank first. */
    List<String> bpe(String chars) {
        List<String> word = new ArrayList<>(chars.length());
        for (int i = 0; i < chars.length(); i++) word.add(String.valueOf(chars.charAt(i)));
        int last = word.size() - 1;
        word.set(last, word.get(last) + BpeVocabulary.END_OF_WORD);
        while (word.size() > 1) {
            int best = -1;
            String first = null, second = null;
            for (int i = 0; i + 1 < word.size(); i++) {
                int r = vocab.rank(word.get(i), word.get(i + 1));
                if (r >= 0 && (best < 0 || r < best)) {
                    best = r;
                    first = word.get(i);
                    second = word.get(i + 1);
                }
            }
            if (best < 0) break;
            List<String> merged = new ArrayList<>(word.size());
            for (int i = 0; i < word.size(); ) {
                if (i + 1 < word.size() && word.get(i).equals(first) && word.get(i + 1).equals(second)) {
                    merged.add(first + second);
                    i += 2;
                } else {
                    merged.add(word.get(i));
                    i++;
                }
            }
            word = merged;
        }
        return word;
    }
}
