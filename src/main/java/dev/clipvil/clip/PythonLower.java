package dev.clipvil.clip;

import java.util.Locale;

/**
 * Lower case as Python's {@code str.lower()} computes it: each code point's full Unicode lower-case
 * mapping (so U+0130 becomes "i" plus a combining dot), with capital sigma becoming final sigma
 * exactly in Unicode's Final_Sigma context: after a cased letter (case-ignorable characters between
 * are skipped) and not before one. Java's {@code toLowerCase} decides final sigma by word boundaries
 * instead, which differs for inputs such as "a1Σ".
 */
final class PythonLower {
    private static final int CAPITAL_SIGMA = 0x3A3;

    private PythonLower() {}

    static String lower(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            if (cp == CAPITAL_SIGMA) {
                out.append(finalSigma(s, i) ? '\u03C2' : '\u03C3');
            } else if (cp < 0x80) {
                out.append((char) (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
            } else {
                out.append(new String(Character.toChars(cp)).toLowerCase(Locale.ROOT));
            }
            i += Character.charCount(cp);
        }
        return out.toString();
    }

    private static boolean finalSigma(String s, int at) {
        int j = at, c = -1;
        while (j > 0) {
            c = s.codePointBefore(j);
            if (!caseIgnorable(c)) break;
            j -= Character.charCount(c);
            c = -1;
        }
        if (c < 0 || !cased(c)) return false;
        j = at + 1;
        while (j < s.length()) {
            c = s.codePointAt(j);
            if (!caseIgnorable(c)) return !cased(c);
            j += Character.charCount(c);
        }
        return true;
    }

    /** Unicode's Cased property: Lowercase, Uppercase or titlecase letter. */
    static boolean cased(int cp) {
        return Character.isLowerCase(cp) || Character.isUpperCase(cp) || Character.isTitleCase(cp);
    }

    /** Unicode's Case_Ignorable property: marks, format controls, modifiers, and the word-internal punctuation (MidLetter, MidNumLet, Single_Quote). */
    static boolean caseIgnorable(int cp) {
        switch (Character.getType(cp)) {
            case Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.FORMAT,
                 Character.MODIFIER_LETTER, Character.MODIFIER_SYMBOL -> { return true; }
            default -> { }
        }
        return switch (cp) {
            case 0x27, 0x2E, 0x3A, 0xB7, 0x387, 0x55F, 0x5F4, 0x2018, 0x2019, 0x2024, 0x2027,
                 0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A -> true;
            default -> false;
        };
    }
}
