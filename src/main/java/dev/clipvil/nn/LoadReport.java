package dev.clipvil.nn;

import java.util.List;

/**
 * What {@link Module#loadStateDict} found: keys the module has but the state dict lacks, keys the
 * state dict has but the module lacks, and keys present in both with different shapes (each as
 * {@code "name: expected [..] got [..]"}).
 */
public record LoadReport(List<String> missing, List<String> unexpected, List<String> mismatched) {
    public LoadReport {
        missing = List.copyOf(missing);
        unexpected = List.copyOf(unexpected);
        mismatched = List.copyOf(mismatched);
    }

    /** True when every key matched by name and shape. */
    public boolean isClean() { return missing.isEmpty() && unexpected.isEmpty() && mismatched.isEmpty(); }

    @Override
    public String toString() {
        if (isClean()) return "all keys matched";
        StringBuilder sb = new StringBuilder();
        append(sb, "missing", missing);
        append(sb, "unexpected", unexpected);
        append(sb, "mis-shaped", mismatched);
        return sb.toString();
    }

    private static void append(StringBuilder sb, String what, List<String> keys) {
        if (keys.isEmpty()) return;
        if (sb.length() > 0) sb.append("; ");
        sb.append(keys.size()).append(' ').append(what).append(" key").append(keys.size() == 1 ? "" : "s").append(": ").append(String.join(", ", keys));
    }
}
