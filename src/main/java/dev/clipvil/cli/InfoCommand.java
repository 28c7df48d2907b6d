package dev.clipvil.cli;

import dev.clipvil.backend.Backends;
import dev.clipvil.backend.CudaProbe;
import dev.clipvil.backend.MemoryStats;
import dev.clipvil.backend.cpu.Parallel;
import dev.clipvil.backend.cuda.ConvImpl;
import dev.clipvil.backend.cuda.CudaLibraries;
import dev.clipvil.backend.cuda.CudaRuntime;
import dev.clipvil.tensor.Device;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** {@code clipvil info}: the version, the Java runtime, the machine and the backends that can run. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Show the version, Java runtime, CPU, memory and available backends.")
final class InfoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Runtime rt = Runtime.getRuntime();
        row(out, "clipvil", VersionProvider.version());
        row(out, "java", System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + "), "
                + System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"));
        row(out, "os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        row(out, "cpu threads", Parallel.threads() + " used, " + rt.availableProcessors() + " available (set CLIPVIL_THREADS to change)");
        row(out, "vector api", vectorApi());
        row(out, "heap max", mib(rt.maxMemory()));
        MemoryStats m = Backends.of(Device.CPU).memoryStats();
        row(out, "host memory", "in use " + mib(m.inUseBytes()) + ", cached " + mib(m.cachedBytes()) + ", peak " + mib(m.peakBytes()));
        out.println("backends:");
        row(out, "  cpu", "available");
        CudaRuntime.Availability cuda = CudaRuntime.availability();
        row(out, "  cuda", cuda.available() ? "available, " + cuda.deviceCount() + " device" + (cuda.deviceCount() == 1 ? "" : "s")
                : "not available: " + cuda.reason());
        for (int i = 0; i < cuda.deviceCount(); i++) row(out, "  cuda:" + i, cudaDevice(i));
        row(out, "  driver", CudaProbe.probe().describe());
        for (CudaLibraries.Status s : cuda.libraries()) {
            String version = s.loaded() && s.name().equals("cudnn") ? ", version " + CudaLibraries.cudnnVersion() : "";
            row(out, "  " + s.name(), s.provides() + ": " + (s.loaded() ? "loaded (" + s.detail() + ")" + version : "not loaded: " + s.detail()));
        }
        row(out, "  conv2d", "on a GPU: " + ConvImpl.current().label() + " (--conv or CLIPVIL_CONV: clipvil = our kernels, cudnn = cuDNN)");
        out.flush();
        return 0;
    }

    private static String cudaDevice(int i) {
        try {
            dev.clipvil.backend.cuda.CudaContext c = dev.clipvil.backend.cuda.CudaContext.get(i);
            return c.name() + " (sm_" + c.ccMajor() + c.ccMinor() + ", " + c.smCount() + " SMs)";
        } catch (RuntimeException e) {
            return "unusable: " + e.getMessage();
        }
    }

    private static String vectorApi() {
        if (!VectorModule.loaded()) return VectorModule.NAME + " not loaded (start with --add-modules=" + VectorModule.NAME + ")";
        int bits = VectorModule.preferredFloatBits();
        return VectorModule.NAME + " loaded, preferred FloatVector " + bits + " bits (" + bits / 32 + " floats)";
    }

    private static void row(PrintWriter out, String key, String value) {
        out.printf("%-13s %s%n", key + ":", value);
    }

    private static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / 1048576.0);
    }
}
