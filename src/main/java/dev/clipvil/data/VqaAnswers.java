package dev.clipvil.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Answer normalisation of the official VQA v2 evaluation (vqaEval.py): {@link #punctuation} then
 * {@link #digitArticle}, reproduced rule for rule including the script's quirks:
 * <ul>
 * <li>Each punctuation mark is deleted when the <em>original</em> text has it followed or preceded by a
 * space, or when the original text contains a comma between two digits ("1,000" becomes "1000", and then
 * every other mark is deleted too); otherwise it is replaced by a space ("red/blue" becomes "red blue").
 * The period is not in the list: a period not followed by a digit is deleted ("3.5" keeps its period),
 * and, as the script passes {@code re.UNICODE} (32) where {@code re.sub} takes its count, at most the
 * first 32 such periods are.</li>
 * <li>Words (split on white space after lower-casing) map "none"/"zero".."ten" to digits, the articles
 * a/an/the are dropped, then contractions are restored from {@link VqaContractions}.</li>
 * </ul>
 */
public final class VqaAnswers {
    private VqaAnswers() {}

    /** The script's punctuation list, in its order ('.' is handled separately). */
    static final List<String> PUNCT = List.of(";", ":", "/", "'", "[", "]", "\"", "(", ")", "=", "+", "\\",
            "_", ">", "<", "@", "`", ",", "?");
    private static final Pattern COMMA_BETWEEN_DIGITS = Pattern.compile("\\d,\\d");
    /** The script's pattern is "(?!<=\d)(\.)(?!\d)": its first group is a look-ahead that never fails before a '.'. */
    private static final Pattern PERIOD = Pattern.compile("\\.(?!\\d)");
    private static final int PERIOD_LIMIT = 32;
    private static final Pattern WHITE = Pattern.compile("(?U)\\s+");
    private static final Map<String, String> NUMBERS = Map.ofEntries(Map.entry("none", "0"), Map.entry("zero", "0"),
            Map.entry("one", "1"), Map.entry("two", "2"), Map.entry("three", "3"), Map.entry("four", "4"),
            Map.entry("five", "5"), Map.entry("six", "6"), Map.entry("seven", "7"), Map.entry("eight", "8"),
            Map.entry("nine", "9"), Map.entry("ten", "10"));
    private static final List<String> ARTICLES = List.of("a", "an", "the");

    /** The full normalisation the script applies: newline/tab to space, strip, punctuation, digits/articles. */
    public static String normalize(String answer) {
        return digitArticle(punctuation(clean(answer)));
    }

    /** The script's first step on every answer: newlines and tabs become spaces, then surrounding white space goes. */
    public static String clean(String answer) {
        return answer.replace('\n', ' ').replace('\t', ' ').strip();
    }

    /** The script's processPunctuation. */
    public static String punctuation(String in) {
        boolean digitComma = COMMA_BETWEEN_DIGITS.matcher(in).find();
        String out = in;
        for (String p : PUNCT) {
            boolean delete = digitComma || in.contains(p + " ") || in.contains(" " + p);
            out = out.replace(p, delete ? "" : " ");
        }
        Matcher m = PERIOD.matcher(out);
        StringBuilder sb = new StringBuilder();
        int n = 0;
        while (n < PERIOD_LIMIT && m.find()) {
            m.appendReplacement(sb, "");
            n++;
        }
        m.appendTail(sb);
        return sb.toString();
    }

    /** The script's processDigitArticle. */
    public static String digitArticle(String in) {
        List<String> words = new ArrayList<>();
        for (String w : WHITE.split(in.toLowerCase(Locale.ROOT))) {
            if (w.isEmpty()) continue;
            String word = NUMBERS.getOrDefault(w, w);
            if (!ARTICLES.contains(word)) words.add(word);
        }
        words.replaceAll(w -> VqaContractions.MAP.getOrDefault(w, w));
        return String.join(" ", words);
    }
}
