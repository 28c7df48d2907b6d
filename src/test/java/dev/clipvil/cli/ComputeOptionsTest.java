package dev.clipvil.cli;

import dev.clipvil.backend.cuda.ConvImpl;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --device / --precision / --conv of the model-running commands: parsing, resolution on the CPU, notes, help, and bf16 emulated on the CPU. */
class ComputeOptionsTest {
    @TempDir
    Path tmp;

    /** Each model-running command with just its required options (files that need not exist: the options are checked first). */
    private List<String[]> commands() {
        String m = tmp.resolve("model").toString(), f = tmp.resolve("x.png").toString(), o = tmp.resolve("out").toString();
        return List.of(
                new String[]{"embed", "--model", m, "--out", o},
                new String[]{"zeroshot", "--model", m, "--image", f, "--labels", "a,b"},
                new String[]{"forward", "--model", m, "--out", o},
                new String[]{"extract-grid", "--model", m, "--images", f, "--size", "32x32", "--out", o},
                new String[]{"finetune-clip", "--model", m, "--inputs", f, "--steps", "1", "--out", o},
                new String[]{"predict", "--run", o, "--image", f, "--question", "what?"},
                new String[]{"train", "--out", o},
                new String[]{"demo", "--out", o});
    }

    private static String[] plus(String[] head, String... tail) {
        String[] out = java.util.Arrays.copyOf(head, head.length + tail.length);
        System.arraycopy(tail, 0, out, head.length, tail.length);
        return out;
    }

    private static ComputeOptions options(String device, String precision, String conv) {
        ComputeOptions o = new ComputeOptions();
        o.device = device;
        o.precision = precision;
        o.conv = conv;
        return o;
    }

    @Test
    void aBadPrecisionOrConvIsAnErrorNamingTheValueInEveryCommand() {
        for (String[] cmd : commands()) {
            CliFixtures.Run r = CliFixtures.run(plus(cmd, "--precision", "fp8", "--device", "cpu"));
            assertEquals(2, r.code(), cmd[0] + ": " + r.err());
            assertTrue(r.err().contains("--precision must be bf16, tf32, f32 or auto, got 'fp8'"), cmd[0] + ": " + r.err());
            r = CliFixtures.run(plus(cmd, "--conv", "winograd", "--device", "cpu"));
            assertEquals(2, r.code(), cmd[0] + ": " + r.err());
            assertTrue(r.err().contains("--conv must be clipvil or cudnn, got 'winograd'"), cmd[0] + ": " + r.err());
        }
    }

    @Test
    void everyModelRunningCommandsHelpListsTheComputeOptions() {
        for (String[] cmd : commands()) {
            CliFixtures.Run r = CliFixtures.run(cmd[0], "--help");
            assertEquals(0, r.code(), r.err());
            for (String opt : new String[]{"--device", "--precision", "--conv"}) assertTrue(r.out().contains(opt), cmd[0] + " help lacks " + opt + ":\n" + r.out());
            assertTrue(r.out().replaceAll("\\s+", " ").contains("bf16 on a GPU, f32 on the CPU"), r.out());
        }
    }

    @Test
    void autoIsF32OnTheCpuAndBf16OnAGpuAndEachCpuCaveatIsNoted() {
        StringWriter sw = new StringWriter();
        PrintWriter err = new PrintWriter(sw, true);
        Compute c = options("cpu", "auto", null).resolve("embed", err, false, null);
        assertEquals(Device.CPU, c.device());
        assertEquals("f32", c.precision());
        assertEquals(ConvImpl.current(), c.conv());
        assertEquals("", sw.toString(), "nothing to say about the CPU in f32");
        assertEquals("bf16", ComputeOptions.auto(Device.cuda(0)));
        assertEquals("f32", ComputeOptions.auto(Device.CPU));

        assertEquals("f32", options(" CPU ", " F32 ", null).resolve("embed", err, false, null).precision(), "blanks and case are ignored");
        assertEquals("bf16", options("cpu", "bf16", null).resolve("zeroshot", err, false, null).precision());
        assertTrue(sw.toString().contains("zeroshot: bf16 on the CPU is emulated"), sw.toString());
        assertEquals("tf32", options("cpu", "tf32", "cudnn").resolve("forward", err, true, null).precision());
        String s = sw.toString();
        assertTrue(s.contains("forward: cpu, tf32") && s.contains("forward: tf32 has no effect on the CPU")
                && s.contains("forward: --conv cudnn has no effect on the CPU"), s);
        assertEquals("bf16", options("cpu", "f32", null).resolve("train", err, true, "bf16").precision(), "a kept precision wins");

        ComputeOptions given = options("cuda:7", "auto", null);
        given.use(Device.CPU);
        assertEquals(Device.CPU, given.resolve("embed", err, false, null).device(), "the seam replaces --device");
        assertThrows(IllegalArgumentException.class, () -> options("tpu", "auto", null).resolve("embed", err, false, null));
    }

    @Test
    void theRunSwitchesArePutBack() {
        boolean tf32 = dev.clipvil.backend.cuda.CudaBackend.tf32Allowed();
        ConvImpl conv = ConvImpl.current();
        Compute c = new Compute(Device.CPU, "tf32", ConvImpl.CUDNN);
        try (Compute.Scope s = c.open()) {
            assertTrue(dev.clipvil.backend.cuda.CudaBackend.tf32Allowed());
            assertEquals(ConvImpl.CUDNN, ConvImpl.current());
        }
        assertEquals(tf32, dev.clipvil.backend.cuda.CudaBackend.tf32Allowed());
        assertEquals(conv, ConvImpl.current());
        try (var g = new Compute(Device.CPU, "bf16", conv).autocast()) {
            assertTrue(dev.clipvil.ops.Autocast.isBf16());
        }
        try (var g = new Compute(Device.CPU, "f32", conv).autocast()) {
            assertFalse(dev.clipvil.ops.Autocast.isBf16());
        }
    }

    @Test
    void forwardInEmulatedBf16OnTheCpuWritesF32CloseToF32() throws IOException {
        Path model = CliFixtures.dir("ComputeOptionsTest", "openai_vit_small", "config.json", "model.safetensors");
        Path img = CliFixtures.dir("ComputeOptionsTest", "preprocess", "img1_300x200.png").resolve("img1_300x200.png");
        Path vocab = ForwardCommandTest.vocab("ComputeOptionsTest");
        Path f32 = tmp.resolve("f32.safetensors"), bf16 = tmp.resolve("bf16.safetensors");
        for (Path out : List.of(f32, bf16)) {
            CliFixtures.Run r = CliFixtures.run("forward", "--model", model.toString(), "--vocab", vocab.toString(), "--device", "cpu",
                    "--precision", out == f32 ? "auto" : "bf16", "--images", img.toString(), "--texts", "a cat", "--out", out.toString());
            assertEquals(0, r.code(), r.err());
            assertEquals(out == bf16, r.err().contains("forward: bf16 on the CPU is emulated"), r.err());
        }
        Map<String, Tensor> a = SafeTensors.readAll(f32), b = SafeTensors.readAll(bf16);
        try {
            assertEquals(a.keySet(), b.keySet());
            for (String k : a.keySet()) {
                assertEquals(DType.F32, b.get(k).dtype(), k);
                double err = CliFixtures.relErr(k, b.get(k), a.get(k));
                assertTrue(err > 0 && err < 0.05, k + ": bf16 vs f32 relative error " + err);
            }
        } finally {
            a.values().forEach(Tensor::close);
            b.values().forEach(Tensor::close);
        }
    }
}
