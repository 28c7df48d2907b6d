package dev.clipvil.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VectorModuleLauncherTest {
    @TempDir
    Path dir;

    @Test
    void commandKeepsJvmOptionsClassPathAndArguments() {
        List<String> cmd = VectorModuleLauncher.command("/jdk/bin/java", List.of("-Xmx2g", "-Dx=a b"), "target/clipvil.jar",
                "dev.clipvil.cli.Main", new String[] {"inspect", "my file.safetensors"});
        assertEquals(List.of("/jdk/bin/java", "--add-modules=jdk.incubator.vector", "-Xmx2g", "-Dx=a b", "-cp", "target/clipvil.jar",
                "dev.clipvil.cli.Main", "inspect", "my file.safetensors"), cmd);
    }

    private static String filter(String in) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        VectorModuleLauncher.filterStderr(new ByteArrayInputStream(in.getBytes(StandardCharsets.UTF_8)), out);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void stderrFilterDropsOnlyTheLeadingIncubatorWarning() {
        String w = VectorModuleLauncher.INCUBATOR_WARNING;
        assertEquals("clipvil: error: x\n", filter(w + "\nclipvil: error: x\n"));
        assertEquals("OpenJDK 64-Bit Server VM warning: y\nerr\n", filter("OpenJDK 64-Bit Server VM warning: y\n" + w + "\nerr\n"));
        assertEquals("first\n" + w + "\n", filter("first\n" + w + "\n"), "a later identical line is the program's own");
        assertEquals("no newline at end", filter("no newline at end"));
        assertEquals("", filter(""));
        assertEquals("a\r\nb", filter(w + "\r\na\r\nb"));
    }

    /** The real thing: a JVM started without the module restarts itself and passes the exit code on. */
    @Test
    void plainJavaLaunchRestartsWithTheModule() throws IOException, InterruptedException {
        Path bad = Files.write(dir.resolve("bad.safetensors"), new byte[] {1, 2});
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx64m", "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "inspect", bad.toString());
        pb.environment().remove(VectorModuleLauncher.GUARD);
        pb.environment().remove("CLIPVIL_DEBUG");
        pb.environment().remove("JDK_JAVA_OPTIONS");
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.redirectOutput(dir.resolve("out.txt").toFile()).redirectError(dir.resolve("err.txt").toFile());
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the relaunched clipvil finished");
        String err = Files.readString(dir.resolve("err.txt"));
        assertEquals(2, p.exitValue(), err);
        assertEquals("clipvil: error: " + bad + ": file is 2 bytes, shorter than the 8-byte header length" + System.lineSeparator(), err);
        assertEquals("", Files.readString(dir.resolve("out.txt")));
    }
}
