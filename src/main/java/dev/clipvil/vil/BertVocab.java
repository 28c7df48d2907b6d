package dev.clipvil.vil;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A whole-word vocab.txt for a BERT trained from scratch (no bert-base-uncased at hand): the five
 * special tokens, then every word BERT's basic tokenization (lower-casing, accent stripping,
 * punctuation split) finds at least {@code minCount} times in the texts, in alphabetical order so the
 * same texts always give the same ids. Other words become [UNK].
 */
public final class BertVocab {
    private BertVocab() {}

    public static List<String> fromTexts(Iterable<String> texts, int minCount) {
        if (minCount < 1) throw new IllegalArgumentException("BertVocab: minCount must be >= 1, got " + minCount);
        BasicTokenizer basic = new BasicTokenizer(true, true);
        Map<String, Integer> counts = new TreeMap<>();
        for (String t : texts) for (String w : basic.tokenize(t)) counts.merge(w, 1, Integer::sum);
        List<String> lines = new ArrayList<>(List.of(BertTokenizer.PAD, BertTokenizer.UNK, BertTokenizer.CLS,
                BertTokenizer.SEP, BertTokenizer.MASK));
        for (var e : counts.entrySet()) if (e.getValue() >= minCount && !lines.contains(e.getKey())) lines.add(e.getKey());
        return lines;
    }
}
