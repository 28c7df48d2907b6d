package dev.clipvil.cli;

import dev.clipvil.backend.DeviceChoice;
import dev.clipvil.backend.cuda.ConvImpl;
import dev.clipvil.tensor.Device;
import dev.clipvil.train.VqaTrainConfig;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * Where and how a command runs its model (a picocli mixin): {@code --device} (auto, cpu, cuda[:N];
 * resolved by {@link DeviceChoice}, which notes once when there is no GPU), {@code --precision}
 * (auto, f32, tf32, bf16; auto is bf16 on a GPU and f32 on the CPU) and {@code --conv} (what runs
 * conv2d on a GPU). {@link #resolve} checks them and gives the {@link Compute} of the run.
 */
final class ComputeOptions {
    @Option(names = "--device", defaultValue = "auto", description = "cuda[:N], cpu or auto (cuda when a GPU backend is available; default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--precision", defaultValue = "auto",
            description = "bf16 (BF16 autocast: BF16 GEMMs, attention and convolutions with F32 accumulation; F32 norms, softmax, loss and master weights), "
                    + "tf32 (F32 data, TF32 tensor-core GEMMs on a GPU; f32 on the CPU), f32, or auto: bf16 on a GPU, f32 on the CPU "
                    + "(bf16 there is emulated, for checking numerics). Default: ${DEFAULT-VALUE}.")
    String precision;

    @Option(names = "--conv", paramLabel = "IMPL",
            description = "What runs conv2d on a GPU: clipvil (the engine's own kernels) or cudnn (cuDNN, to measure one against the other). "
                    + "Default: $CLIPVIL_CONV, else clipvil. No effect on the CPU.")
    String conv;

    /** A device already chosen (tests: a dry-run CUDA device, which DeviceChoice would refuse without a GPU); null: resolve --device. */
    private Device resolved;

    /** Runs on {@code d} instead of resolving {@code --device} (a test seam; package-private). */
    void use(Device d) { resolved = d; }

    /** Checks --conv and --precision (an error naming the bad value), so that a command can refuse them before any work. */
    void check() { requestedPrecision(); }

    /** {@code --precision} checked and lower-cased: f32, tf32, bf16 or auto; {@code --conv} is checked first. */
    String requestedPrecision() {
        requestedConv();
        String p = precision.trim().toLowerCase(Locale.ROOT);
        if (!p.equals("auto") && !VqaTrainConfig.PRECISIONS.contains(p)) {
            throw new IllegalArgumentException("--precision must be bf16, tf32, f32 or auto, got '" + precision + "'");
        }
        return p;
    }

    /** {@code --conv} parsed, or null when not given. */
    ConvImpl requestedConv() {
        if (conv == null) return null;
        try {
            return ConvImpl.parse(conv);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--conv must be clipvil or cudnn, got '" + conv + "'");
        }
    }

    /** The precision {@code auto} stands for on {@code d}: bf16 on a GPU, f32 on the CPU. */
    static String auto(Device d) { return d.kind() == Device.Kind.CUDA ? "bf16" : "f32"; }

    /**
     * Resolves the options for command {@code cmd}: device, precision ({@code kept} when not null,
     * e.g. the one a resumed run was saved with, else --precision with auto resolved) and the conv2d
     * implementation. On standard error: "CMD: DEVICE, PRECISION" ({@code announce}, or always on a
     * GPU), and once each, that tf32 has no effect on the CPU, that bf16 is emulated there, that
     * --conv has no effect there, or that conv2d goes through cuDNN. An unusable cudnn is an error.
     */
    Compute resolve(String cmd, PrintWriter err, boolean announce, String kept) {
        String p = requestedPrecision();
        ConvImpl given = requestedConv();
        Device d = resolved != null ? resolved : DeviceChoice.resolve(device);
        boolean cpu = d.kind() != Device.Kind.CUDA;
        if (kept != null) p = kept;
        else if (p.equals("auto")) p = auto(d);
        if (announce || !cpu) err.println(cmd + ": " + d + ", " + p);
        if (p.equals("tf32") && cpu) err.println(cmd + ": tf32 has no effect on the CPU (it computes in F32)");
        if (p.equals("bf16") && cpu) {
            err.println(cmd + ": bf16 on the CPU is emulated (operands rounded to BF16, F32 math): for checking numerics, slower than f32");
        }
        err.flush();
        return new Compute(d, p, chooseConv(cmd, err, given, d));
    }

    /**
     * The conv2d implementation of the run: {@code --conv}, else the process default (CLIPVIL_CONV).
     * cudnn without a loadable cuDNN is an error before the model runs; on the CPU a given --conv is
     * noted as having no effect.
     */
    private static ConvImpl chooseConv(String cmd, PrintWriter err, ConvImpl given, Device d) {
        ConvImpl impl = given != null ? given : ConvImpl.current();
        if (d.kind() != Device.Kind.CUDA) {
            if (given != null) {
                err.println(cmd + ": --conv " + given.label() + " has no effect on the CPU (it has one convolution)");
                err.flush();
            }
            return impl;
        }
        String why = impl.unavailableReason();
        if (why != null) throw new IllegalArgumentException((given != null ? "--conv " : "CLIPVIL_CONV=") + impl.label() + ": " + why);
        if (impl == ConvImpl.CUDNN) {
            err.println(cmd + ": conv2d through cuDNN (--conv cudnn)");
            err.flush();
        }
        return impl;
    }
}
