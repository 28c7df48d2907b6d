package dev.clipvil.cli;

import dev.clipvil.autograd.GradMode;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.backend.ProfilingBackend;
import dev.clipvil.backend.cpu.Parallel;
import dev.clipvil.clip.Clip;
import dev.clipvil.clip.ClipConfig;
import dev.clipvil.clip.ClipPresets;
import dev.clipvil.nn.Init;
import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code clipvil bench-encode}: image-encoding throughput of a released CLIP configuration with random
 * weights, and the share of the time each primitive took (GEMM, convolution, ...), measured by timing
 * every backend call of the last iterations.
 */
@Command(name = "bench-encode", mixinStandardHelpOptions = true,
        description = {"Measure CPU image-encoding throughput of a CLIP model (random weights) and where the time goes.",
                "Example: clipvil bench-encode --model ViT-B/32 --batch-size 16 --iterations 3"})
final class BenchEncodeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", defaultValue = "ViT-B/32", description = "A released configuration: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).",
            completionCandidates = PresetNames.class)
    String model;

    @Option(names = "--batch-size", defaultValue = "16", description = "Images per forward pass (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--warmup", defaultValue = "1", description = "Untimed passes first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--iterations", defaultValue = "3", description = "Timed passes (default: ${DEFAULT-VALUE}).")
    int iterations;

    /** The preset names, for the help text. */
    static final class PresetNames extends ArrayList<String> {
        PresetNames() { super(ClipPresets.all().keySet()); }
    }

    @Override
    public Integer call() {
        if (batch < 1 || iterations < 1 || warmup < 0) throw new IllegalArgumentException("--batch-size and --iterations must be >= 1, --warmup >= 0");
        ClipConfig config = ClipPresets.get(model);
        PrintWriter out = spec.commandLine().getOut();
        int r = config.imageResolution();
        Backend cpu = Backends.of(Device.CPU);
        ProfilingBackend.Stats stats = new ProfilingBackend.Stats();
        try (Clip clip = new Clip(config, new Init(0)); Tensor pixels = Creation.randn(1, DType.F32, batch, 3, r, r);
             GradMode.Guard g = GradMode.noGrad()) {
            clip.eval();
            for (int i = 0; i < warmup; i++) encode(clip, pixels);
            long t0 = System.nanoTime();
            for (int i = 0; i < iterations; i++) encode(clip, pixels);
            double seconds = (System.nanoTime() - t0) / 1e9;
            // a second set of passes with every primitive timed (the proxy adds a little overhead)
            Backends.register(ProfilingBackend.wrap(cpu, stats));
            long p0 = System.nanoTime();
            try {
                for (int i = 0; i < iterations; i++) encode(clip, pixels);
            } finally {
                Backends.register(cpu);
            }
            double profiled = (System.nanoTime() - p0) / 1e9;
            out.printf("%s image encoder, %dx%d, batch %d, %d threads, random weights, F32: %.1f images/s (%.3f s per batch of %d; %d timed passes after %d warm-up)%n",
                    model, r, r, batch, Parallel.threads(), batch * iterations / seconds, seconds / iterations, batch, iterations, warmup);
            out.println("where the time goes (profiled passes):");
            long total = Math.round(profiled * 1e9);
            long gemm = 0, conv = 0;
            List<Map.Entry<String, long[]>> rows = new ArrayList<>(stats.snapshot().entrySet());
            rows.sort((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]));
            for (var e : rows) {
                long ns = e.getValue()[1];
                if (e.getKey().equals("matmul")) gemm += ns;
                if (e.getKey().startsWith("conv2d")) conv += ns;
                out.printf("  %-22s %6d calls %9.1f ms %5.1f%%%n", e.getKey(), e.getValue()[0], ns / 1e6, 100.0 * ns / total);
            }
            out.printf("  GEMM %.1f%%, convolution %.1f%%, everything else %.1f%% of %.3f s%n",
                    100.0 * gemm / total, 100.0 * conv / total, 100.0 * (total - gemm - conv) / total, profiled);
            out.flush();
        }
        return 0;
    }

    private static void encode(Clip clip, Tensor pixels) {
        try (MemoryScope s = MemoryScope.open()) {
            clip.encodeImage(pixels);
        }
    }
}
