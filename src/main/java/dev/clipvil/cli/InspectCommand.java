package dev.clipvil.cli;

import dev.clipvil.io.SafeTensors;
import dev.clipvil.io.SafeTensorsFile;
import dev.clipvil.io.TensorInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code clipvil inspect FILE}: the tensors (name, dtype, shape, bytes) and metadata of a safetensors file. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "List the tensors and metadata of a .safetensors file (the file is validated, not loaded).")
final class InspectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "FILE", description = "A .safetensors file.")
    Path file;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        try (SafeTensorsFile f = SafeTensors.open(file)) {
            List<TensorInfo> infos = f.infos();
            long bytes = 0, elements = 0;
            int nameWidth = "NAME".length(), dtypeWidth = "DTYPE".length(), shapeWidth = "SHAPE".length();
            for (TensorInfo t : infos) {
                bytes += t.byteLength();
                elements += t.numel();
                nameWidth = Math.max(nameWidth, t.name().length());
                dtypeWidth = Math.max(dtypeWidth, t.dtype().length());
                shapeWidth = Math.max(shapeWidth, t.shapeString().length());
            }
            out.println(file);
            out.printf("%d tensors, %d elements, %d data bytes, header %d bytes%n", infos.size(), elements, bytes, f.headerLength());
            String row = "  %-" + nameWidth + "s  %-" + dtypeWidth + "s  %-" + shapeWidth + "s  %12s%n";
            if (!infos.isEmpty()) out.printf(row, "NAME", "DTYPE", "SHAPE", "BYTES");
            for (TensorInfo t : infos) out.printf(row, t.name(), t.dtype(), t.shapeString(), t.byteLength());
            Map<String, String> meta = f.metadata();
            out.println(meta.isEmpty() ? "no metadata" : "metadata:");
            for (Map.Entry<String, String> e : meta.entrySet()) out.println("  " + e.getKey() + " = " + e.getValue());
        }
        out.flush();
        return 0;
    }
}
