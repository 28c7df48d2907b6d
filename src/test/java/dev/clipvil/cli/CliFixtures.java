package dev.clipvil.cli;

import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import picocli.CommandLine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** What the command tests share: running clipvil in-process, locating fixtures (skip with a message), comparing tensors. */
final class CliFixtures {
    private CliFixtures() {}

    record Run(int code, String out, String err) {}

    static Run run(String... args) { return runOn(null, args); }

    /**
     * Runs subcommand {@code args[0]} on {@code device} (when not null) instead of what its --device
     * resolves to: the seam for a dry-run CUDA device, which DeviceChoice refuses without a GPU.
     */
    static Run runOn(dev.clipvil.tensor.Device device, String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cmd = Main.commandLine();
        if (device != null) computeOptions(cmd, args[0]).use(device);
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        return new Run(cmd.execute(args), out.toString(), err.toString());
    }

    /** The compute-options mixin of subcommand {@code name}. */
    static ComputeOptions computeOptions(CommandLine cmd, String name) {
        return (ComputeOptions) cmd.getSubcommands().get(name).getCommandSpec().mixins().get("compute").userObject();
    }

    /** The fixture folder {@code name}, or an aborted (skipped) test when it or one of {@code files} is missing. */
    static Path dir(String test, String name, String... files) {
        Path dir = Path.of(System.getProperty("clipvil.shared", "../shared"), "fixtures", name);
        for (String f : files) {
            if (!Files.isRegularFile(dir.resolve(f))) {
                String reason = "no fixture " + dir.resolve(f).toAbsolutePath().normalize() + " (set -Dclipvil.shared)";
                System.out.println("SKIPPED " + test + ": " + reason);
                Assumptions.abort(reason);
            }
        }
        return dir;
    }

    /** max |a - b| / max |b|; shapes must match (a 0-d tensor matches [1]). */
    static double relErr(String what, Tensor actual, Tensor expected) {
        if (actual.numel() != 1 || expected.numel() != 1) assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        double[] a = actual.toDoubleArray(), b = expected.toDoubleArray();
        double num = 0, scale = 0;
        for (int i = 0; i < b.length; i++) {
            num = Math.max(num, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(b[i]));
        }
        return scale == 0 ? num : num / scale;
    }
}
