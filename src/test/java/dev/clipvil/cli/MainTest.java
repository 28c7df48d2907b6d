package dev.clipvil.cli;

import dev.clipvil.io.SafeTensors;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static dev.clipvil.cli.CliFixtures.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command tree executed in-process through picocli, with captured output. */
class MainTest {
    @TempDir
    Path dir;


    @Test
    void helpListsTheSubcommands() {
        CliFixtures.Run r = run("--help");
        assertEquals(0, r.code());
        assertTrue(r.out().startsWith("Usage: clipvil"), r.out());
        assertTrue(r.out().contains("info") && r.out().contains("inspect") && r.out().contains("--version"), r.out());
        assertEquals("", r.err());
        CliFixtures.Run sub = run("help", "inspect");
        assertEquals(0, sub.code());
        assertTrue(sub.out().startsWith("Usage: clipvil inspect"), sub.out());
    }

    @Test
    void versionComesFromTheFilteredResource() {
        CliFixtures.Run r = run("--version");
        assertEquals(0, r.code());
        assertTrue(r.out().startsWith("clipvil " + VersionProvider.version() + System.lineSeparator()), r.out());
        assertFalse(VersionProvider.version().equals("unknown") || VersionProvider.version().contains("${"), VersionProvider.version());
        assertTrue(r.out().contains("Java " + System.getProperty("java.version")), r.out());
    }

    @Test
    void infoReportsRuntimeAndBackends() {
        CliFixtures.Run r = run("info");
        assertEquals(0, r.code(), r.err());
        for (String key : new String[] {"clipvil:", "java:", "os:", "cpu threads:", "vector api:", "heap max:", "host memory:", "backends:", "cpu:", "cuda:"}) {
            assertTrue(r.out().contains(key), key + " in " + r.out());
        }
        assertTrue(r.out().contains("jdk.incubator.vector loaded, preferred FloatVector"), r.out());
        assertTrue(r.out().matches("(?s).*\\n  cuda: +(available, \\d+ devices?|not available: .+)\\n.*"), r.out());
        for (String lib : new String[] {"  driver:", "  cudart:", "  cublas:", "  nvrtc:", "  cudnn:", "  conv2d:"}) assertTrue(r.out().contains(lib), lib + " in " + r.out());
        assertEquals("", r.err());
    }

    @Test
    void inspectListsTensorsAndMetadata() throws IOException {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("encoder.weight", Tensor.empty(DType.F32, 3, 4));
        m.put("ids", Tensor.empty(DType.I64, 5));
        m.put("scale", Tensor.scalar(DType.BF16, 1));
        Path f = dir.resolve("m.safetensors");
        SafeTensors.write(f, m, Map.of("format", "pt"));
        m.values().forEach(Tensor::close);
        CliFixtures.Run r = run("inspect", f.toString());
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().split("\\R");
        assertEquals(f.toString(), lines[0]);
        assertEquals("3 tensors, 18 elements, 90 data bytes, header " + (Files.size(f) - 8 - 90) + " bytes", lines[1]);
        assertTrue(lines[2].matches("\\s+NAME\\s+DTYPE\\s+SHAPE\\s+BYTES"), lines[2]);
        assertTrue(lines[3].matches("\\s+encoder\\.weight\\s+F32\\s+\\[3, 4\\]\\s+48"), lines[3]);
        assertTrue(lines[4].matches("\\s+ids\\s+I64\\s+\\[5\\]\\s+40"), lines[4]);
        assertTrue(lines[5].matches("\\s+scale\\s+BF16\\s+\\[\\]\\s+2"), lines[5]);
        assertEquals("metadata:", lines[6]);
        assertEquals("  format = pt", lines[7]);
        assertEquals("", r.err());
    }

    @Test
    void badFileIsOneLineAndExitCodeTwo() throws IOException {
        Path f = Files.write(dir.resolve("bad.safetensors"), new byte[] {42, 0, 0, 0, 0, 0, 0, 0, '{', '}'});
        CliFixtures.Run r = run("inspect", f.toString());
        assertEquals(2, r.code());
        assertEquals("clipvil: error: " + f + ": header length 42 is larger than the file (10 bytes): not a safetensors file, or truncated"
                + System.lineSeparator(), r.err());
        assertEquals("", r.out());
    }

    @Test
    void missingFileIsAUserError() {
        Path f = dir.resolve("missing.safetensors");
        CliFixtures.Run r = run("inspect", f.toString());
        assertEquals(2, r.code());
        assertEquals("clipvil: error: " + f + ": no such file" + System.lineSeparator(), r.err());
    }

    @Test
    void debugAddsTheStackTrace() throws IOException {
        Path f = Files.write(dir.resolve("bad.safetensors"), new byte[] {1});
        for (String[] args : new String[][] {{"--debug", "inspect", f.toString()}, {"inspect", "--debug", f.toString()}}) {
            CliFixtures.Run r = run(args);
            assertEquals(2, r.code());
            assertTrue(r.err().startsWith("clipvil: error: " + f + ": file is 1 bytes"), r.err());
            assertTrue(r.err().contains("\tat dev.clipvil.io.SafeTensorsFile.open"), r.err());
        }
    }

    @Test
    void usageErrorsExitTwoWithUsage() {
        CliFixtures.Run none = run();
        assertEquals(2, none.code());
        assertTrue(none.err().startsWith("clipvil: error: missing subcommand"), none.err());
        assertTrue(none.err().contains("Usage: clipvil"), none.err());
        CliFixtures.Run missingArg = run("inspect");
        assertEquals(2, missingArg.code());
        assertTrue(missingArg.err().startsWith("clipvil: error: Missing required parameter: 'FILE'"), missingArg.err());
        assertTrue(missingArg.err().contains("Usage: clipvil inspect"), missingArg.err());
        CliFixtures.Run unknown = run("info", "--bogus");
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().contains("Unknown option: '--bogus'"), unknown.err());
    }
}
