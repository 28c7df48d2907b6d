package dev.clipvil.vil;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * HF {@code BertTokenizer} semantics: basic tokenization (see {@link BasicTokenizer}), WordPiece, and
 * "[CLS] a [SEP]" or "[CLS] a [SEP] b [SEP]" encodings padded with [PAD] and truncated to a maximum
 * length (pairs longest-first, as HF's default). Special tokens written literally in the text
 * ("[MASK]", ...) are kept whole. Ids come from a vocab.txt (one token per line, id = line number).
 */
public final class BertTokenizer {
    public static final String CLS = "[CLS]", SEP = "[SEP]", PAD = "[PAD]", MASK = "[MASK]", UNK = "[UNK]";
    private static final String[] SPECIAL = {CLS, SEP, PAD, MASK, UNK};

    private final Map<String, Integer> vocab;
    private final List<String> tokens;
    private final BasicTokenizer basic;
    private final WordPiece wordPiece;

    public BertTokenizer(List<String> vocabLines, boolean lowerCase) {
        this.tokens = List.copyOf(vocabLines);
        this.vocab = new HashMap<>();
        for (int i = 0; i < tokens.size(); i++) vocab.put(tokens.get(i), i); // a repeated token keeps its last id, as HF
        for (String s : SPECIAL) {
            if (!vocab.containsKey(s)) throw new IllegalArgumentException("BERT vocabulary lacks the special token " + s);
        }
        this.basic = new BasicTokenizer(lowerCase, lowerCase);
        this.wordPiece = new WordPiece(vocab, UNK, 100);
    }

    /** Reads vocab.txt (UTF-8, one token per line). */
    public static BertTokenizer load(Path vocabTxt, boolean lowerCase) throws IOException {
        List<String> lines = new ArrayList<>(Files.readAllLines(vocabTxt, StandardCharsets.UTF_8));
        while (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) lines.remove(lines.size() - 1);
        for (int i = 0; i < lines.size(); i++) lines.set(i, lines.get(i).strip());
        return new BertTokenizer(lines, lowerCase);
    }

    public int vocabSize() { return tokens.size(); }

    public int id(String token) {
        Integer id = vocab.get(token);
        return id == null ? vocab.get(UNK) : id;
    }

    public String token(int id) { return tokens.get(id); }

    /** The WordPiece tokens of {@code text}, without [CLS]/[SEP]. */
    public List<String> tokenize(String text) {
        List<String> out = new ArrayList<>();
        int from = 0;
        while (from < text.length()) {
            int at = -1;
            String special = null;
            for (String s : SPECIAL) {
                int i = text.indexOf(s, from);
                if (i >= 0 && (at < 0 || i < at)) {
                    at = i;
                    special = s;
                }
            }
            int end = at < 0 ? text.length() : at;
            for (String word : basic.tokenize(text.substring(from, end))) wordPiece.split(word, out);
            if (at < 0) break;
            out.add(special);
            from = at + special.length();
        }
        return out;
    }

    /** Ids of {@code text}, as "[CLS] text [SEP]", neither padded nor truncated. */
    public int[] encode(String text) {
        List<String> t = tokenize(text);
        int[] ids = new int[t.size() + 2];
        ids[0] = id(CLS);
        for (int i = 0; i < t.size(); i++) ids[i + 1] = id(t.get(i));
        ids[ids.length - 1] = id(SEP);
        return ids;
    }

    /** A batch of single texts, each padded/truncated to {@code maxLength} (at least 2). */
    public BertEncoding encodeBatch(List<String> texts, int maxLength) {
        return encodePairs(texts, null, maxLength);
    }

    /**
     * A batch of texts, paired with {@code second} (same size) when it is not null, each encoded as
     * "[CLS] a [SEP] b [SEP]" (segment 0 through the first [SEP], 1 after), truncated longest-first to
     * {@code maxLength} and padded with [PAD] (segment 0, mask 0).
     */
    public BertEncoding encodePairs(List<String> first, List<String> second, int maxLength) {
        if (second != null && second.size() != first.size()) {
            throw new IllegalArgumentException("encodePairs: " + first.size() + " first texts but " + second.size() + " second texts");
        }
        int specials = second == null ? 2 : 3;
        if (maxLength < specials) throw new IllegalArgumentException("maxLength must be at least " + specials + ", got " + maxLength);
        int n = first.size();
        int[] ids = new int[n * maxLength], types = new int[n * maxLength], mask = new int[n * maxLength];
        java.util.Arrays.fill(ids, id(PAD));
        for (int r = 0; r < n; r++) {
            List<String> a = new ArrayList<>(tokenize(first.get(r)));
            List<String> b = second == null ? new ArrayList<>() : new ArrayList<>(tokenize(second.get(r)));
            while (a.size() + b.size() > maxLength - specials) {
                if (a.size() > b.size()) a.remove(a.size() - 1);
                else b.remove(b.size() - 1);
            }
            int p = r * maxLength;
            ids[p] = id(CLS);
            mask[p++] = 1;
            for (String s : a) {
                ids[p] = id(s);
                mask[p++] = 1;
            }
            ids[p] = id(SEP);
            mask[p++] = 1;
            if (second != null) {
                for (String s : b) {
                    ids[p] = id(s);
                    types[p] = 1;
                    mask[p++] = 1;
                }
                ids[p] = id(SEP);
                types[p] = 1;
                mask[p] = 1;
            }
        }
        return new BertEncoding(n, maxLength, ids, types, mask);
    }
}
