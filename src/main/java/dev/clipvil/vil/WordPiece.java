package dev.clipvil.vil;

import java.util.List;
import java.util.Map;

/**
 * Greedy longest-match-first WordPiece over one basic token: pieces after the first carry the "##"
 * prefix; a word that cannot be covered by vocabulary pieces, or is longer than {@code maxChars}
 * code points, becomes the single unknown token.
 */
final class WordPiece {
    private final Map<String, Integer> vocab;
    private final String unk;
    private final int maxChars;

    WordPiece(Map<String, Integer> vocab, String unk, int maxChars) {
        this.vocab = vocab;
        this.unk = unk;
        this.maxChars = maxChars;
    }

    /** Appends the pieces of {@code word} to {@code out}. */
    void split(String word, List<String> out) {
        int[] cps = word.codePoints().toArray();
        if (cps.length > maxChars) {
            out.add(unk);
            return;
        }
        int size = out.size();
        int start = 0;
        while (start < cps.length) {
            String found = null;
            int end = cps.length;
            for (; end > start; end--) {
                String piece = new String(cps, start, end - start);
                if (start > 0) piece = "##" + piece;
                if (vocab.containsKey(piece)) {
                    found = piece;
                    break;
                }
            }
            if (found == null) {
                while (out.size() > size) out.remove(out.size() - 1);
                out.add(unk);
                return;
            }
            out.add(found);
            start = end;
        }
    }
}
