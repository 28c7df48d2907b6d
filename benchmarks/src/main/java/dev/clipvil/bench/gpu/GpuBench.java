package dev.clipvil.bench.gpu;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.backend.MemoryStats;
import dev.clipvil.backend.cuda.ConvImpl;
import dev.clipvil.tensor.Device;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The engine's side of the GPU benchmarks (scripts/gpu-check.sh runs it next to benchmarks/pytorch/*.py):
 * attention forward/backward, layer norm against a device copy, conv2d, the cost of one launch, and a
 * ViT-B/32 training step, each through the {@link Backend} interface on one device, timed with
 * {@link DeviceClock} (warm-up, median of samples). Prints one JSON line per result and writes all of
 * them, with the run's settings, to {@code --json}.
 *
 * <p>Usage: {@code GpuBench [--device cuda:0|cpu] [--scale full|tiny] [--only REGEX] [--json FILE] [--budget-s S] [--conv clipvil|cudnn]}.
 * {@code --conv} chooses what runs conv2d in the other cases (the ViT step's patch embedding); the
 * conv2d case itself measures both side by side.
 * {@code --scale tiny} runs small shapes in F32 (a check of the code paths, e.g. on the CPU). Exit
 * status: 0 when every result is ok or unavailable, 1 when one failed, 3 when the device has no backend.
 */
public final class GpuBench {
    private GpuBench() {}

    public static void main(String[] args) throws IOException {
        String device = "cuda:0", only = ".*", json = null;
        BenchCase.Scale scale = BenchCase.Scale.FULL;
        double budget = 240;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (a) {
                case "--device" -> { device = need(a, v); i++; }
                case "--scale" -> { scale = BenchCase.Scale.valueOf(need(a, v).toUpperCase(Locale.ROOT)); i++; }
                case "--only" -> { only = need(a, v); i++; }
                case "--json" -> { json = need(a, v); i++; }
                case "--budget-s" -> { budget = Double.parseDouble(need(a, v)); i++; }
                case "--conv" -> { ConvImpl.use(ConvImpl.parse(need(a, v))); i++; }
                case "-h", "--help" -> {
                    System.out.println("GpuBench [--device cuda:0|cpu] [--scale full|tiny] [--only REGEX] [--json FILE] [--budget-s S] [--conv clipvil|cudnn]");
                    return;
                }
                default -> throw new IllegalArgumentException("GpuBench: unknown argument '" + a + "'");
            }
        }
        // cuDNN picks its algorithms by timing them (cudnnFind*, like PyTorch's benchmark mode), so the
        // conv2d_cudnn rows are cuDNN at its best; CLIPVIL_CUDNN_FIND=0 keeps its heuristics instead
        String find = System.getenv("CLIPVIL_CUDNN_FIND");
        if (System.getProperty("clipvil.cudnn.find") == null && (find == null || find.isBlank())) System.setProperty("clipvil.cudnn.find", "true");
        JsonObject run = new JsonObject();
        run.addProperty("device", device);
        run.addProperty("scale", scale.name().toLowerCase(Locale.ROOT));
        run.addProperty("java", System.getProperty("java.runtime.version"));
        run.addProperty("conv", ConvImpl.current().label());
        run.addProperty("cudnn_algorithms", "1".equals(find) || Boolean.getBoolean("clipvil.cudnn.find") ? "find (timed)" : "heuristics");
        JsonArray results = new JsonArray();
        run.add("results", results);

        Backend be;
        try {
            be = backend(Device.parse(device));
        } catch (RuntimeException | LinkageError e) {
            run.addProperty("status", "no backend");
            run.addProperty("error", e.getClass().getSimpleName() + ": " + e.getMessage());
            System.out.println("GpuBench: no backend for " + device + ": " + e.getMessage());
            write(json, run);
            System.exit(3);
            return;
        }
        run.addProperty("backend", be.name() + " (" + be.getClass().getName() + ")");
        long deadline = System.nanoTime() + (long) (budget * 1e9);
        Gson line = new GsonBuilder().disableHtmlEscaping().create();
        boolean failed = false;
        try (DeviceClock clock = new DeviceClock(be)) {
            run.addProperty("clock", clock.method());
            System.out.println("GpuBench: " + be.name() + " on " + device + ", " + clock.method());
            BenchCase.Env env = new BenchCase.Env(be, clock, scale, deadline);
            Pattern pick = Pattern.compile(only);
            for (BenchCase c : List.of(new LaunchCase(), new AttentionCase(), new LayerNormCase(), new ConvCase(), new VitTrainCase())) {
                if (!pick.matcher(c.name()).find()) continue;
                List<JsonObject> out = new ArrayList<>();
                if (System.nanoTime() > deadline) {
                    JsonObject o = BenchCase.result(c.name(), "-", "-");
                    o.addProperty("status", "skipped");
                    o.addProperty("error", "the run's budget of " + budget + " s was spent");
                    out.add(o);
                } else {
                    long t0 = System.nanoTime();
                    c.run(env, out);
                    System.out.printf(Locale.ROOT, "GpuBench: %s took %.1f s%n", c.name(), (System.nanoTime() - t0) / 1e9);
                }
                for (JsonObject o : out) {
                    failed |= "error".equals(o.get("status").getAsString());
                    results.add(o);
                    System.out.println(line.toJson(o));
                }
                write(json, run);
            }
            MemoryStats m = be.memoryStats();
            run.addProperty("peak_bytes", m.peakBytes());
            run.addProperty("cached_bytes", m.cachedBytes());
        }
        run.addProperty("status", failed ? "some failed" : "ok");
        write(json, run);
        System.out.flush();
        System.exit(failed ? 1 : 0);
    }

    /** The backend of {@code d}; for CUDA, loads dev.clipvil.backend.cuda.CudaBackend first in case it registers itself when loaded. */
    private static Backend backend(Device d) {
        try {
            return Backends.of(d);
        } catch (IllegalStateException first) {
            if (d.kind() != Device.Kind.CUDA) throw first;
            try {
                Class.forName("dev.clipvil.backend.cuda.CudaBackend", true, GpuBench.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(first.getMessage() + "; and there is no class dev.clipvil.backend.cuda.CudaBackend on the class path", first);
            }
            return Backends.of(d);
        }
    }

    private static String need(String option, String value) {
        if (value == null) throw new IllegalArgumentException("GpuBench: " + option + " needs a value");
        return value;
    }

    private static void write(String file, JsonObject run) throws IOException {
        if (file == null) return;
        Path p = Path.of(file);
        if (p.getParent() != null) Files.createDirectories(p.getParent());
        Gson pretty = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();
        Files.writeString(p, pretty.toJson(run) + "\n", StandardCharsets.UTF_8);
    }
}
