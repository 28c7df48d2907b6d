package dev.clipvil.clip;

import java.text.Normalizer;
import java.util.regex.Pattern;

/**
 * The character-level repairs of {@code ftfy.fix_text} (ftfy 6, default settings), which CLIP's
 * tokenizer applies before anything else. Applied, in ftfy's order and repeated until the text no longer
 * changes, as ftfy does: stray C1 controls read as Windows-1252, Latin ligatures and digraphs split
 * ({@code ﬁ} to {@code fi}), halfwidth/fullwidth forms and U+3000 to their standard forms, curly quotes
 * straightened, line breaks unified, unpaired surrogates replaced by U+FFFD, ANSI terminal escapes and
 * invisible control characters removed, then Unicode NFC.
 *
 * <p>Not applied: ftfy's mojibake repair ({@code fix_encoding}: text that was UTF-8 decoded as Latin-1
 * or Windows-1252, such as {@code "cafÃ©"}, stays as it is, where ftfy would give {@code "café"}) and
 * ftfy's own HTML unescaping (which, besides what the tokenizer's two {@code html.unescape} passes do,
 * decodes all-caps names such as {@code &EACUTE;} and entities nested more than twice). Text free of
 * those gets the same result as with ftfy.
 */
final class FtfyFixes {
    private static final Pattern ANSI_ESCAPE = Pattern.compile("\u001B\\[(?:\\p{Nd}|;)*[a-zA-Z]");
    private static final String[] WIDTH = widthMap();

    private FtfyFixes() {}

    static String fix(String text) {
        while (true) {
            String before = text;
            text = c1Controls(text);
            text = ligaturesAndWidth(text);
            text = uncurlQuotes(text);
            text = text.replace("\r\n", "\n").replace('\r', '\n').replace('\u2028', '\n')
                    .replace('\u2029', '\n').replace('\u0085', '\n');
            text = loneSurrogates(text);
            text = ANSI_ESCAPE.matcher(text).replaceAll("");
            text = controlChars(text);
            text = Normalizer.normalize(text, Normalizer.Form.NFC);
            if (text.equals(before)) return text;
        }
    }

    private static String c1Controls(String s) {
        StringBuilder out = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 0x80 && c <= 0x9F) {
                if (out == null) out = new StringBuilder(s).delete(i, s.length());
                out.append(Cp1252.decode(c));
            } else if (out != null) {
                out.append(c);
            }
        }
        return out == null ? s : out.toString();
    }

    private static String ligaturesAndWidth(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            String r = ligature(c);
            if (r == null && (c == 0x3000 || (c >= 0xFF01 && c <= 0xFFEF))) r = WIDTH[c == 0x3000 ? 0 : c - 0xFF00];
            out.append(r != null ? r : String.valueOf(c));
        }
        return out.toString();
    }

    /** ftfy's ligature table: Latin typographic ligatures and the legacy digraph characters. */
    private static String ligature(char c) {
        return switch (c) {
            case '\u0132' -> "IJ";
            case '\u0133' -> "ij";
            case '\u0149' -> "\u02BCn";
            case '\u01F1' -> "DZ";
            case '\u01F2' -> "Dz";
            case '\u01F3' -> "dz";
            case '\u01C4' -> "D\u017D";
            case '\u01C5' -> "D\u017E";
            case '\u01C6' -> "d\u017E";
            case '\u01C7' -> "LJ";
            case '\u01C8' -> "Lj";
            case '\u01C9' -> "lj";
            case '\u01CA' -> "NJ";
            case '\u01CB' -> "Nj";
            case '\u01CC' -> "nj";
            case '\uFB00' -> "ff";
            case '\uFB01' -> "fi";
            case '\uFB02' -> "fl";
            case '\uFB03' -> "ffi";
            case '\uFB04' -> "ffl";
            case '\uFB05' -> "\u017Ft";
            case '\uFB06' -> "st";
            default -> null;
        };
    }

    /** Index 0: U+3000 (to a space); index i in 1..0xEF: U+FF00+i, its NFKC form where that differs. */
    private static String[] widthMap() {
        String[] map = new String[0xF0];
        map[0] = " ";
        for (int c = 0xFF01; c <= 0xFFEF; c++) {
            String ch = String.valueOf((char) c);
            String alt = Normalizer.normalize(ch, Normalizer.Form.NFKC);
            map[c - 0xFF00] = alt.equals(ch) ? null : alt;
        }
        return map;
    }

    private static String uncurlQuotes(String s) {
        StringBuilder out = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            char r = c == '\u02BC' || (c >= '\u2018' && c <= '\u201B') ? '\''
                    : c >= '\u201C' && c <= '\u201F' ? '"' : c;
            if (r != c && out == null) out = new StringBuilder(s).delete(i, s.length());
            if (out != null) out.append(r);
        }
        return out == null ? s : out.toString();
    }

    private static String loneSurrogates(String s) {
        StringBuilder out = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean paired = Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
            if (paired) {
                if (out != null) out.append(c).append(s.charAt(i + 1));
                i++;
                continue;
            }
            char r = Character.isSurrogate(c) ? '\uFFFD' : c;
            if (r != c && out == null) out = new StringBuilder(s).delete(i, s.length());
            if (out != null) out.append(r);
        }
        return out == null ? s : out.toString();
    }

    private static String controlChars(String s) {
        StringBuilder out = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean drop = c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F
                    || (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
            if (drop && out == null) out = new StringBuilder(s).delete(i, s.length());
            if (out != null && !drop) out.append(c);
        }
        return out == null ? s : out.toString();
    }
}
