package dev.clipvil.cli;

import dev.clipvil.io.SafeTensors;
import dev.clipvil.io.SafeTensorsFile;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.HalfFloats;
import dev.clipvil.tensor.HostMemory;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code clipvil convert}: round trips of the PyTorch fixture files, dtype conversion, and user errors (exit 2). */
class ConvertCommandTest {
    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cmd = Main.commandLine();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        return new Run(cmd.execute(args), out.toString(), err.toString());
    }

    private static Path fixture() {
        Path d = Path.of(System.getProperty("clipvil.shared", "../shared"), "fixtures", "openai_pt_small");
        if (!Files.isRegularFile(d.resolve("torchscript.pt")) || !Files.isRegularFile(d.resolve("model.safetensors"))) {
            String reason = "no fixture at " + d.toAbsolutePath().normalize() + " (set -Dclipvil.shared)";
            System.out.println("SKIPPED ConvertCommandTest: " + reason);
            Assumptions.abort(reason);
        }
        return d;
    }

    /** Runs convert and returns the output's tensors (caller closes). */
    private Map<String, Tensor> convert(Path in, String name, String... extra) throws IOException {
        Path out = dir.resolve(name);
        String[] args = new String[3 + extra.length];
        args[0] = "convert";
        args[1] = in.toString();
        args[2] = "--out=" + out;
        System.arraycopy(extra, 0, args, 3, extra.length);
        Run r = run(args);
        assertEquals(0, r.code, r.err);
        assertEquals("", r.err);
        assertTrue(r.out.startsWith("converted " + in) && r.out.contains(" to " + out + ": ") && r.out.contains(" tensors")
                && r.out.trim().endsWith(" s") && r.out.trim().lines().count() == 1, r.out);
        try (SafeTensorsFile f = SafeTensors.open(out)) {
            assertEquals(Map.of("format", "pt"), f.metadata());
        }
        return SafeTensors.readAll(out);
    }

    private static void assertTensorsEqual(Map<String, Tensor> want, Map<String, Tensor> got) {
        assertEquals(want.keySet(), got.keySet());
        for (String k : want.keySet()) {
            Tensor a = want.get(k), b = got.get(k);
            assertEquals(a.dtype(), b.dtype(), k);
            assertArrayEquals(a.shape(), b.shape(), k);
            if (a.dtype().isFloating()) assertArrayEquals(a.toDoubleArray(), b.toDoubleArray(), 0, k);
            else assertArrayEquals(a.toLongArray(), b.toLongArray(), k);
        }
    }

    private static void closeAll(Map<String, Tensor> m) {
        m.values().forEach(Tensor::close);
    }

    @Test
    void everyFixtureFormatRoundTripsToTheReferenceSafetensors() throws IOException {
        Path fx = fixture();
        long before = HostMemory.get().inUseBytes();
        Map<String, Tensor> ref = SafeTensors.readAll(fx.resolve("model.safetensors"));
        try {
            for (String in : new String[] {"state_dict.pt", "torchscript.pt"}) {
                Map<String, Tensor> got = convert(fx.resolve(in), in + ".safetensors");
                try {
                    assertTensorsEqual(ref, got);
                } finally {
                    closeAll(got);
                }
            }
            Map<String, Tensor> folder = convert(fx, "folder.safetensors", "--dtype", "f32");
            try {
                assertTensorsEqual(ref, folder);
            } finally {
                closeAll(folder);
            }
        } finally {
            closeAll(ref);
        }
        assertEquals(before, HostMemory.get().inUseBytes(), "convert frees everything it loaded");
    }

    @Test
    void dtypeConvertsFloatingTensorsOnly() throws IOException {
        Path fx = fixture();
        Map<String, Tensor> half = convert(fx.resolve("torchscript.pt"), "half.safetensors", "--dtype", "f16");
        Map<String, Tensor> fp16File = dev.clipvil.io.Checkpoints.readStateDict(fx.resolve("state_dict_fp16.pt"));
        try {
            assertTensorsEqual(fp16File, half); // our float32 -> float16 rounding equals PyTorch's .half()
            assertTrue(half.values().stream().anyMatch(t -> t.dtype() == DType.I64), "integer buffers are kept");
        } finally {
            closeAll(half);
            closeAll(fp16File);
        }
        Map<String, Tensor> ref = SafeTensors.readAll(fx.resolve("model.safetensors"));
        Map<String, Tensor> bf = convert(fx.resolve("state_dict.pt"), "bf.safetensors", "--dtype=bf16");
        try {
            for (String k : ref.keySet()) {
                Tensor r = ref.get(k), b = bf.get(k);
                if (!r.dtype().isFloating()) {
                    assertEquals(r.dtype(), b.dtype(), k);
                    continue;
                }
                assertEquals(DType.BF16, b.dtype(), k);
                float[] rv = r.toFloatArray();
                short[] want = new short[rv.length];
                for (int i = 0; i < rv.length; i++) want[i] = HalfFloats.floatToBf16(rv[i]);
                assertArrayEquals(want, (short[]) b.hostStorage().raw(), k);
            }
        } finally {
            closeAll(ref);
            closeAll(bf);
        }
    }

    @Test
    void convertsSmallFilesWithoutFixtures() throws IOException {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("w", Tensor.of(new float[] {1.5f, -2.25f, 3.0001f}, 3));
        m.put("ids", Tensor.ofLongs(new long[] {4, 5}, 2));
        Path in = dir.resolve("in.safetensors");
        SafeTensors.write(in, m);
        closeAll(m);
        Map<String, Tensor> got = convert(in, "out.safetensors", "--dtype", "BF16");
        try {
            assertEquals(DType.BF16, got.get("w").dtype());
            assertArrayEquals(new double[] {1.5, -2.25, 3.0}, got.get("w").toDoubleArray());
            assertEquals(DType.I64, got.get("ids").dtype());
            assertArrayEquals(new long[] {4, 5}, got.get("ids").toLongArray());
        } finally {
            closeAll(got);
        }
    }

    @Test
    void userErrorsExitTwoWithAClearMessage() throws IOException {
        Path out = dir.resolve("never.safetensors");
        Run missing = run("convert", dir.resolve("missing.pt").toString(), "--out", out.toString());
        assertEquals(2, missing.code);
        assertEquals("clipvil: error: " + dir.resolve("missing.pt") + ": no such file", missing.err.trim());

        Path text = Files.write(dir.resolve("notes.txt"), "just some text".getBytes(StandardCharsets.US_ASCII));
        Run unsupported = run("convert", text.toString(), "--out", out.toString());
        assertEquals(2, unsupported.code);
        assertTrue(unsupported.err.startsWith("clipvil: error: " + text + ": unsupported checkpoint format"), unsupported.err);
        assertEquals(1, unsupported.err.trim().lines().count(), unsupported.err);

        Run badDtype = run("convert", text.toString(), "--out", out.toString(), "--dtype", "f8");
        assertEquals(2, badDtype.code);
        assertTrue(badDtype.err.contains("'f8' is not one of f32, bf16, f16") && badDtype.err.contains("Usage: clipvil convert"), badDtype.err);

        Run noOut = run("convert", text.toString());
        assertEquals(2, noOut.code);
        assertTrue(noOut.err.contains("Missing required option: '--out=OUT'"), noOut.err);

        Path evil = dir.resolve("evil.pt");
        try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(evil))) {
            zip.putNextEntry(new java.util.zip.ZipEntry("evil/data.pkl"));
            zip.write("\u0080\u0002cos\nsystem\nX\u0002\u0000\u0000\u0000ls\u0085R.".getBytes(StandardCharsets.ISO_8859_1));
            zip.closeEntry();
        }
        Run refused = run("convert", evil.toString(), "--out", out.toString());
        assertEquals(2, refused.code);
        assertTrue(refused.err.contains("refusing to load global 'os.system'"), refused.err);
        assertFalse(Files.exists(out), "no output on failure");
        assertEquals(0, refused.out.length());
    }
}
