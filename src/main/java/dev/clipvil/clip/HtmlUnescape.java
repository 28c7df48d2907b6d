package dev.clipvil.clip;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * HTML character-reference decoding with the semantics of Python's {@code html.unescape} (which CLIP's
 * tokenizer applies twice): numeric references {@code &#NN;} / {@code &#xHH;} (the ';' optional),
 * with the HTML5 replacements for invalid numbers (0 and surrogates and out-of-range values become
 * U+FFFD, 0x80..0x9F are read as Windows-1252, non-characters and most controls vanish), and the 2231
 * HTML5 named references; a name without ';' that is not itself an entity is decoded by its longest
 * prefix that is one (legacy names such as {@code &amp} or {@code &lt}), as the standard says.
 */
final class HtmlUnescape {
    private static final Pattern REF = Pattern.compile("&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\\t\\n\\f <&#;]{1,32};?)");
    private static final Map<String, String> ENTITIES = loadEntities();

    private HtmlUnescape() {}

    static String unescape(String s) {
        if (s.indexOf('&') < 0) return s;
        Matcher m = REF.matcher(s);
        StringBuilder out = new StringBuilder(s.length());
        while (m.find()) m.appendReplacement(out, Matcher.quoteReplacement(replace(m.group(1))));
        m.appendTail(out);
        return out.toString();
    }

    private static String replace(String ref) {
        if (ref.charAt(0) == '#') return numeric(ref);
        String direct = ENTITIES.get(ref);
        if (direct != null) return direct;
        // the longest prefix (at least 2 code points, shorter than the whole) that is an entity
        int[] cps = ref.codePoints().toArray();
        for (int len = cps.length - 1; len > 1; len--) {
            String prefix = new String(cps, 0, len);
            String e = ENTITIES.get(prefix);
            if (e != null) return e + new String(cps, len, cps.length - len);
        }
        return "&" + ref;
    }

    private static String numeric(String ref) {
        boolean hex = ref.length() > 1 && (ref.charAt(1) == 'x' || ref.charAt(1) == 'X');
        String digits = ref.substring(hex ? 2 : 1);
        if (digits.endsWith(";")) digits = digits.substring(0, digits.length() - 1);
        int radix = hex ? 16 : 10;
        long num = 0;
        for (int i = 0; i < digits.length(); i++) {
            num = num * radix + Character.digit(digits.charAt(i), radix);
            if (num > 0x10FFFF) { num = 0x110000; break; } // any larger value decodes alike
        }
        int n = (int) num;
        String special = invalidCharref(n);
        if (special != null) return special;
        if ((n >= 0xD800 && n <= 0xDFFF) || n > 0x10FFFF) return "\uFFFD";
        if (invalidCodepoint(n)) return "";
        return new String(Character.toChars(n));
    }

    /** The HTML5 replacement of references to 0, CR and 0x80..0x9F (Windows-1252), or null. */
    static String invalidCharref(int n) {
        if (n == 0) return "\uFFFD";
        if (n == 0x0D) return "\r";
        if (n >= 0x80 && n <= 0x9F) return String.valueOf(Cp1252.decode(n));
        return null;
    }

    private static boolean invalidCodepoint(int n) {
        return (n >= 0x1 && n <= 0x8) || n == 0xB || (n >= 0xE && n <= 0x1F) || (n >= 0x7F && n <= 0x9F)
                || (n >= 0xFDD0 && n <= 0xFDEF) || (n & 0xFFFE) == 0xFFFE;
    }

    private static Map<String, String> loadEntities() {
        Map<String, String> map = new HashMap<>(4096);
        try (InputStream in = HtmlUnescape.class.getResourceAsStream("html5-entities.txt")) {
            if (in == null) throw new IllegalStateException("missing resource html5-entities.txt");
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isEmpty() || line.startsWith("#")) continue;
                int tab = line.indexOf('\t');
                StringBuilder value = new StringBuilder();
                for (String hex : line.substring(tab + 1).split(" ")) value.appendCodePoint(Integer.parseInt(hex, 16));
                map.put(line.substring(0, tab), value.toString());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return map;
    }
}
