package dev.clipvil.clip;

import java.util.regex.Pattern;

/**
 * The text normalisation CLIP's tokenizer applies before splitting words, in the reference's order:
 * ftfy's repairs ({@link FtfyFixes}; mojibake repair excluded, see there), HTML unescaping twice
 * ({@link HtmlUnescape}), every run of Unicode white space (the White_Space property, as the
 * {@code regex} module's {@code \s}) collapsed to one space, the ends trimmed, then lower case as
 * Python computes it ({@link PythonLower}).
 */
final class TextCleaner {
    private static final Pattern WHITESPACE = Pattern.compile("\\p{IsWhite_Space}+");

    private TextCleaner() {}

    static String clean(String text) {
        String s = FtfyFixes.fix(text);
        s = HtmlUnescape.unescape(HtmlUnescape.unescape(s));
        s = WHITESPACE.matcher(s).replaceAll(" ");
        s = strip(s);
        return PythonLower.lower(s);
    }

    private static String strip(String s) {
        int start = 0, end = s.length();
        while (start < end && s.charAt(start) == ' ') start++;
        while (end > start && s.charAt(end - 1) == ' ') end--;
        return s.substring(start, end);
    }
}
