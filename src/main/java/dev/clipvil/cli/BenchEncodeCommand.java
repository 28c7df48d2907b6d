package dev.clipvil.cli;

import dev.clipvil.autograd.GradMode;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.backend.ProfilingBackend;
import dev.clipvil.backend.cuda.CudaBackend;
import dev.clipvil.backend.cuda.CudaEventProfiler;
import dev.clipvil.backend.cpu.Parallel;
import dev.clipvil.clip.Clip;
import dev.clipvil.clip.ClipConfig;
import dev.clipvil.clip.ClipPresets;
import dev.clipvil.nn.Init;
import dev.clipvil.ops.Autocast;
import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
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
 * weights on the chosen device and precision, and the share of the time each primitive took (GEMM,
 * attention, convolution, ...), measured in a second set of passes: on the CPU by timing every backend
 * call, on a GPU by CUDA events around every call (GPU time per primitive; their sum against the wall
 * time of those passes says how busy the GPU was).
 */
@Command(name = "bench-encode", mixinStandardHelpOptions = true,
        description = {"Measure image-encoding throughput of a CLIP model (random weights) on --device in --precision, and where the time goes.",
                "Example: clipvil bench-encode --model ViT-B/32 --batch-size 16 --iterations 3",
                "         clipvil bench-encode --device cuda --precision bf16 --model ViT-B/32 --batch-size 256 --iterations 20"})
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

    @Mixin
    ComputeOptions compute;

    /** The preset names, for the help text. */
    static final class PresetNames extends ArrayList<String> {
        PresetNames() { super(ClipPresets.all().keySet()); }
    }

    @Override
    public Integer call() {
        compute.check();
        if (batch < 1 || iterations < 1 || warmup < 0) throw new IllegalArgumentException("--batch-size and --iterations must be >= 1, --warmup >= 0");
        ClipConfig config = ClipPresets.get(model);
        PrintWriter out = spec.commandLine().getOut();
        Compute c = compute.resolve("bench-encode", spec.commandLine().getErr(), false, null);
        Device device = c.device();
        boolean gpu = device.kind() == Device.Kind.CUDA;
        int r = config.imageResolution();
        Backend be = Backends.of(device);
        ProfilingBackend.Stats stats = new ProfilingBackend.Stats();
        try (Compute.Scope switches = c.open(); Clip clip = new Clip(config, new Init(0)); MemoryScope scope = MemoryScope.open();
             GradMode.Guard g = GradMode.noGrad(); Autocast.Guard region = c.autocast()) {
            clip.to(device);
            clip.eval();
            Tensor pixels = c.onDevice(Creation.randn(1, DType.F32, batch, 3, r, r));
            for (int i = 0; i < warmup; i++) encode(clip, pixels);
            sync(be);
            long t0 = System.nanoTime();
            for (int i = 0; i < iterations; i++) encode(clip, pixels);
            sync(be);
            double seconds = (System.nanoTime() - t0) / 1e9;
            // a second set of passes with every primitive timed (on the CPU the proxy adds a little overhead;
            // on a GPU two event records per call)
            long p0 = System.nanoTime();
            if (gpu) {
                try (CudaEventProfiler prof = CudaEventProfiler.of((CudaBackend) be, stats)) {
                    Backends.register(prof.backend());
                    try {
                        for (int i = 0; i < iterations; i++) encode(clip, pixels);
                    } finally {
                        Backends.register(be);
                    }
                    prof.finish();
                }
            } else {
                Backends.register(ProfilingBackend.wrap(be, stats));
                try {
                    for (int i = 0; i < iterations; i++) encode(clip, pixels);
                } finally {
                    Backends.register(be);
                }
            }
            double profiled = (System.nanoTime() - p0) / 1e9;
            String where = gpu ? device + " (" + ((CudaBackend) be).context().name() + ")" : Parallel.threads() + " threads";
            String precision = c.bf16() ? "BF16 autocast" : c.precision().toUpperCase(java.util.Locale.ROOT);
            out.printf("%s image encoder, %dx%d, batch %d, %s, random weights, %s: %.1f images/s (%.3f s per batch of %d; %d timed passes after %d warm-up)%n",
                    model, r, r, batch, where, precision, batch * iterations / seconds, seconds / iterations, batch, iterations, warmup);
            out.println(gpu ? "where the GPU time goes (profiled passes; CUDA events around every primitive):" : "where the time goes (profiled passes):");
            List<Map.Entry<String, long[]>> rows = new ArrayList<>(stats.snapshot().entrySet());
            long timed = 0;
            for (var e : rows) timed += e.getValue()[1];
            long total = gpu ? Math.max(timed, 1) : Math.round(profiled * 1e9);
            long gemm = 0, conv = 0, attention = 0;
            rows.sort((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]));
            for (var e : rows) {
                long ns = e.getValue()[1];
                if (e.getKey().equals("matmul")) gemm += ns;
                if (e.getKey().startsWith("conv2d")) conv += ns;
                if (e.getKey().startsWith("attention")) attention += ns;
                out.printf("  %-22s %6d calls %9.1f ms %5.1f%%%n", e.getKey(), e.getValue()[0], ns / 1e6, 100.0 * ns / total);
            }
            out.printf("  GEMM %.1f%%, attention %.1f%%, convolution %.1f%%, everything else %.1f%% of %.3f s%s%n",
                    100.0 * gemm / total, 100.0 * attention / total, 100.0 * conv / total, 100.0 * (total - gemm - conv - attention) / total,
                    total / 1e9, gpu ? String.format(java.util.Locale.ROOT, " of GPU time; the GPU was busy %.1f%% of the %.3f s those passes took",
                            100.0 * timed / 1e9 / profiled, profiled) : "");
            out.flush();
        }
        return 0;
    }

    /** Waits for the device's queued work (a no-op on the CPU, where every call has finished when it returns). */
    private static void sync(Backend be) {
        if (be instanceof CudaBackend cuda) cuda.synchronize();
    }

    private static void encode(Clip clip, Tensor pixels) {
        try (MemoryScope s = MemoryScope.open()) {
            clip.encodeImage(pixels);
        }
    }
}
