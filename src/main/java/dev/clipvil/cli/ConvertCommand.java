package dev.clipvil.cli;

import dev.clipvil.backend.Backends;
import dev.clipvil.io.Checkpoints;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code clipvil convert IN --out OUT.safetensors [--dtype f32|bf16|f16]}: reads weights in any format
 * that {@link Checkpoints} knows (safetensors, torch.save zip, TorchScript archive, a model folder),
 * optionally converts the floating tensors to one dtype (integer and bool tensors are kept), and writes
 * them to a safetensors file atomically, with {@code format: pt} metadata as Hugging Face writes it.
 */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Convert weights (safetensors, PyTorch .pt/.bin, TorchScript, a model folder) to safetensors.",
                "Reads torch.save zips and TorchScript archives (OpenAI's CLIP .pt files) with a restricted unpickler:",
                "nothing in the input is executed."})
final class ConvertCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "IN", description = "Input checkpoint file or model folder.")
    Path in;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "OUT", description = "Output .safetensors file (replaced atomically).")
    Path out;

    @Option(names = "--dtype", paramLabel = "f32|bf16|f16", converter = FloatDTypeConverter.class,
            description = "Convert floating tensors to this dtype (integer tensors are unchanged). Default: keep each tensor's dtype.")
    DType dtype;

    /** Parses f32 / bf16 / f16 (and the float32 / bfloat16 / float16 / fp16 spellings). */
    static final class FloatDTypeConverter implements CommandLine.ITypeConverter<DType> {
        @Override
        public DType convert(String s) {
            return switch (s.toLowerCase(java.util.Locale.ROOT)) {
                case "f32", "fp32", "float32" -> DType.F32;
                case "bf16", "bfloat16" -> DType.BF16;
                case "f16", "fp16", "float16", "half" -> DType.F16;
                default -> throw new CommandLine.TypeConversionException("'" + s + "' is not one of f32, bf16, f16");
            };
        }
    }

    @Override
    public Integer call() throws IOException {
        long t0 = System.nanoTime();
        Checkpoints.Source source = Checkpoints.locate(in);
        LinkedHashMap<String, Tensor> tensors = Checkpoints.readStateDict(source);
        long elements = 0;
        int converted = 0;
        try {
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                Tensor t = e.getValue();
                elements += t.numel();
                if (dtype != null && t.dtype().isFloating() && t.dtype() != dtype) {
                    e.setValue(Backends.of(t).cast(t, dtype));
                    t.close();
                    converted++;
                }
            }
            SafeTensors.write(out, tensors, Map.of("format", "pt"));
        } finally {
            tensors.values().forEach(Tensor::close);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        PrintWriter w = spec.commandLine().getOut();
        w.printf("converted %s (%s) to %s: %d tensors%s, %,d elements, %,d bytes, %.2f s%n", source.file(), source.format().description(),
                out, tensors.size(), dtype == null ? "" : " (" + converted + " cast to " + dtype + ")", elements, Files.size(out), seconds);
        w.flush();
        return 0;
    }
}
