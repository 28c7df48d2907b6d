package dev.clipvil.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.clipvil.backend.cpu.Parallel;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns a JMH JSON result file (-rf json) into a markdown table: benchmark, parameters, impl, ms/op,
 * GFLOP/s or GB/s ({@link Workloads}), and the clipvil/libtorch time ratio of each case.
 *
 * <p>Usage: {@code java -cp benchmarks.jar dev.clipvil.bench.Report results.json}
 */
public final class Report {
    private Report() {}

    /** One JMH result row. */
    record Row(String bench, String method, Map<String, String> params, String impl, double ms, double msError, Work work) {
        String caseKey() { return bench + "." + method + " " + paramText(); }

        String paramText() {
            StringBuilder sb = new StringBuilder();
            params.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : ", ").append(k).append('=').append(v));
            return sb.length() == 0 ? "-" : sb.toString();
        }
    }

    public static void main(String[] args) throws IOException {
        Path file = Path.of(args.length > 0 ? args[0] : "results.json");
        List<Row> rows = read(file);
        System.out.print(markdown(rows, threads(file)));
    }

    static List<Row> read(Path file) throws IOException {
        JsonArray results;
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            results = JsonParser.parseReader(r).getAsJsonArray();
        }
        List<Row> rows = new ArrayList<>();
        for (JsonElement e : results) {
            JsonObject o = e.getAsJsonObject();
            String full = o.get("benchmark").getAsString();
            String[] parts = full.split("\\.");
            String bench = parts[parts.length - 2], method = parts[parts.length - 1];
            Map<String, String> params = new TreeMap<>();
            if (o.has("params")) {
                for (var p : o.getAsJsonObject("params").entrySet()) params.put(p.getKey(), p.getValue().getAsString());
            }
            String impl = params.remove("impl");
            JsonObject m = o.getAsJsonObject("primaryMetric");
            double toMs = msFactor(m.get("scoreUnit").getAsString());
            double score = m.get("score").getAsDouble() * toMs;
            JsonElement err = m.get("scoreError");
            double error = err == null || err.isJsonNull() || !isNumber(err) ? Double.NaN : err.getAsDouble() * toMs;
            Map<String, String> all = new HashMap<>(params);
            if (impl != null) all.put("impl", impl);
            rows.add(new Row(bench, method, params, impl == null ? "-" : impl, score, error, Workloads.of(bench, all)));
        }
        return rows;
    }

    private static boolean isNumber(JsonElement e) {
        try {
            double d = e.getAsDouble();
            return !Double.isNaN(d);
        } catch (RuntimeException ex) {
            return false;
        }
    }

    /** Milliseconds per unit of a JMH average-time score unit. */
    static double msFactor(String unit) {
        return switch (unit) {
            case "s/op" -> 1e3;
            case "ms/op" -> 1;
            case "us/op" -> 1e-3;
            case "ns/op" -> 1e-6;
            default -> throw new IllegalArgumentException("expected an average-time unit (s|ms|us|ns/op), got " + unit);
        };
    }

    /** The table; rows of one case (same benchmark and parameters) are adjacent, clipvil first. */
    static String markdown(List<Row> rows, int threads) {
        Map<String, Map<String, Row>> byCase = new LinkedHashMap<>();
        for (Row r : rows) byCase.computeIfAbsent(r.caseKey(), k -> new HashMap<>()).put(r.impl(), r);
        StringBuilder sb = new StringBuilder();
        sb.append("Threads: ").append(threads).append(" for both engines (clipvil Parallel.threads(); libtorch set_num_threads to the same).\n");
        String tunables = System.getenv("GLIBC_TUNABLES");
        if (tunables != null && !tunables.isEmpty()) sb.append("libtorch's allocator: GLIBC_TUNABLES=").append(tunables).append('\n');
        sb.append('\n');
        sb.append("| Benchmark | Params | Impl | ms/op | ± | Rate | clipvil/libtorch time |\n");
        sb.append("|---|---|---|---:|---:|---:|---:|\n");
        List<Row> ordered = new ArrayList<>();
        for (Map<String, Row> pair : byCase.values()) {
            for (String impl : List.of(ImplBench.CLIPVIL, ImplBench.LIBTORCH)) {
                if (pair.containsKey(impl)) ordered.add(pair.get(impl));
            }
            pair.forEach((impl, r) -> {
                if (!impl.equals(ImplBench.CLIPVIL) && !impl.equals(ImplBench.LIBTORCH)) ordered.add(r);
            });
        }
        for (Row r : ordered) {
            String rate = r.work() == null ? "-" : fmt(r.work().rate(r.ms())) + " " + r.work().unit();
            String ratio = "";
            Map<String, Row> pair = byCase.get(r.caseKey());
            if (ImplBench.CLIPVIL.equals(r.impl()) && pair.containsKey(ImplBench.LIBTORCH)) {
                ratio = fmt(r.ms() / pair.get(ImplBench.LIBTORCH).ms()) + "x";
            }
            sb.append("| ").append(r.bench()).append('.').append(r.method())
              .append(" | ").append(r.paramText())
              .append(" | ").append(r.impl())
              .append(" | ").append(fmt(r.ms()))
              .append(" | ").append(Double.isNaN(r.msError()) ? "-" : fmt(r.msError()))
              .append(" | ").append(rate)
              .append(" | ").append(ratio).append(" |\n");
        }
        sb.append("\nclipvil/libtorch time: clipvil's ms/op over libtorch's for the same case (below 1: clipvil is faster).\n");
        return sb.toString();
    }

    /** The thread count the forks used: a -Dclipvil.threads in the recorded JVM args, else this JVM's rule (same environment). */
    static int threads(Path file) throws IOException {
        String json = Files.readString(file, StandardCharsets.UTF_8);
        var m = java.util.regex.Pattern.compile("-Dclipvil\\.threads=(\\d+)").matcher(json);
        return m.find() ? Integer.parseInt(m.group(1)) : Parallel.threads();
    }

    private static String fmt(double v) {
        if (Double.isNaN(v)) return "-";
        double a = Math.abs(v);
        String f = a >= 100 ? "%.1f" : a >= 1 ? "%.2f" : a >= 0.01 ? "%.4f" : "%.3g";
        return String.format(Locale.ROOT, f, v);
    }
}
