package dev.clipvil.vil;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * BERT's basic tokenizer (HF {@code BasicTokenizer}): drops NUL, U+FFFD and control characters, maps
 * whitespace to spaces, puts spaces around CJK ideographs, splits on whitespace, lower-cases and strips
 * accents (NFD, combining marks dropped) when told, then splits off every punctuation character
 * (Unicode category P* plus the ASCII symbols BERT counts as punctuation, such as $ + < = > ^ ` | ~).
 */
final class BasicTokenizer {
    private final boolean lowerCase;
    private final boolean stripAccents;

    BasicTokenizer(boolean lowerCase, boolean stripAccents) {
        this.lowerCase = lowerCase;
        this.stripAccents = stripAccents;
    }

    List<String> tokenize(String text) {
        String cleaned = spaceCjk(clean(text));
        List<String> out = new ArrayList<>();
        for (String tok : whitespaceSplit(cleaned)) {
            if (lowerCase) tok = tok.toLowerCase(Locale.ROOT);
            if (stripAccents) tok = stripAccents(tok);
            splitPunctuation(tok, out);
        }
        return out;
    }

    static List<String> whitespaceSplit(String s) {
        List<String> out = new ArrayList<>();
        for (String p : s.trim().split(" +")) if (!p.isEmpty()) out.add(p);
        return out;
    }

    private static String clean(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        text.codePoints().forEach(cp -> {
            if (cp == 0 || cp == 0xFFFD || isControl(cp)) return;
            if (isWhitespace(cp)) sb.append(' ');
            else sb.appendCodePoint(cp);
        });
        return sb.toString();
    }

    private static String spaceCjk(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        text.codePoints().forEach(cp -> {
            if (isCjk(cp)) sb.append(' ').appendCodePoint(cp).append(' ');
            else sb.appendCodePoint(cp);
        });
        return sb.toString();
    }

    private static String stripAccents(String tok) {
        String nfd = Normalizer.normalize(tok, Normalizer.Form.NFD);
        StringBuilder sb = new StringBuilder(nfd.length());
        nfd.codePoints().forEach(cp -> {
            if (Character.getType(cp) != Character.NON_SPACING_MARK) sb.appendCodePoint(cp);
        });
        return sb.toString();
    }

    private static void splitPunctuation(String tok, List<String> out) {
        StringBuilder cur = new StringBuilder();
        tok.codePoints().forEach(cp -> {
            if (isPunctuation(cp)) {
                if (cur.length() > 0) out.add(cur.toString());
                cur.setLength(0);
                out.add(new String(Character.toChars(cp)));
            } else {
                cur.appendCodePoint(cp);
            }
        });
        if (cur.length() > 0) out.add(cur.toString());
    }

    static boolean isWhitespace(int cp) {
        return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || Character.getType(cp) == Character.SPACE_SEPARATOR;
    }

    static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') return false;
        int t = Character.getType(cp);
        return t == Character.CONTROL || t == Character.FORMAT || t == Character.PRIVATE_USE
                || t == Character.SURROGATE || t == Character.UNASSIGNED;
    }

    static boolean isPunctuation(int cp) {
        if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
        return switch (Character.getType(cp)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                 Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }

    static boolean isCjk(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }
}
