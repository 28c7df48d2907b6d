package dev.clipvil.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Ctrl-C handling: the hook sets the flag, waits for the loop to save, then lets the JVM go. */
class StopSignalTest {
    @TempDir Path dir;

    @Test
    void hookWaitsForTheLoopToSave() throws Exception {
        List<String> events = new CopyOnWriteArrayList<>();
        StopSignal stop = StopSignal.detached(Duration.ofSeconds(20));
        Thread loop = new Thread(() -> {
            while (!stop.stopRequested()) Thread.onSpinWait();
            events.add("loop sees flag");
            try {
                Thread.sleep(100); // saving the checkpoint takes a while
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            events.add("saved");
            stop.acknowledge();
        });
        loop.start();
        AtomicBoolean acknowledged = new AtomicBoolean();
        Thread hook = new Thread(() -> {
            acknowledged.set(stop.onShutdown());
            events.add("hook returns");
        });
        hook.start();
        hook.join(10_000);
        loop.join(10_000);
        assertTrue(acknowledged.get());
        assertEquals(List.of("loop sees flag", "saved", "hook returns"), events);
    }

    @Test
    void hookGivesUpAfterItsBoundAndSaysSo() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (PrintStream log = new PrintStream(out, true, StandardCharsets.UTF_8)) {
            StopSignal stop = StopSignal.install(Duration.ofMillis(50), log);
            try {
                long t0 = System.nanoTime();
                assertFalse(stop.onShutdown(), "no loop acknowledged");
                assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(40));
                assertTrue(stop.stopRequested());
            } finally {
                stop.close();
            }
        }
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("clipvil: stopping: saving a checkpoint first"), text);
        assertTrue(text.contains("did not save within"), text);
    }

    @Test
    void closeReleasesAWaitingHookAndRemovesIt() throws Exception {
        StopSignal stop = StopSignal.install(Duration.ofSeconds(30), null);
        AtomicBoolean returned = new AtomicBoolean();
        Thread hook = new Thread(() -> { stop.onShutdown(); returned.set(true); });
        hook.start();
        while (!stop.stopRequested()) Thread.onSpinWait();
        stop.close(); // the loop ended some other way (an exception): the exit must not wait 30 s
        hook.join(5_000);
        assertTrue(returned.get());
        stop.close(); // idempotent
        StopSignal quiet = StopSignal.detached(Duration.ZERO);
        assertFalse(quiet.stopRequested());
        quiet.requestStop();
        assertTrue(quiet.stopRequested());
    }

    /** A real process: SIGTERM (what destroy() sends, like Ctrl-C's SIGINT) runs the hook; the loop saves, then the JVM exits. */
    @Test
    void aKilledProcessSavesBeforeItExits() throws Exception {
        Path saved = dir.resolve("saved.txt"), output = dir.resolve("child.log");
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), StopSignalMain.class.getName(), saved.toString())
                .redirectErrorStream(true).redirectOutput(output.toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!Files.readString(output).contains("ready")) {
                assertTrue(p.isAlive(), "the child died: " + Files.readString(output));
                assertTrue(System.nanoTime() < deadline, "the child did not start its loop in 30 s");
                Thread.sleep(20);
            }
            p.destroy();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the child exited");
            String said = Files.readString(output);
            assertTrue(Files.exists(saved), "the loop saved before the exit; child said: " + said);
            assertTrue(Files.readString(saved).startsWith("saved at step "), Files.readString(saved));
            assertTrue(said.contains("clipvil: stopping"), said);
            assertEquals(143, p.exitValue(), "exit status of SIGTERM");
        } finally {
            p.destroyForcibly();
        }
    }
}
