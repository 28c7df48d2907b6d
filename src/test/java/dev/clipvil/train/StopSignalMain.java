package dev.clipvil.train;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** The child process of {@code StopSignalTest}: a loop that writes its "checkpoint" when asked to stop. */
public final class StopSignalMain {
    private StopSignalMain() {}

    public static void main(String[] args) throws Exception {
        Path saved = Path.of(args[0]);
        try (StopSignal stop = StopSignal.install(Duration.ofSeconds(15), System.out)) {
            System.out.println("ready");
            System.out.flush();
            for (long step = 0; step < 6000; step++) {
                Thread.sleep(5);
                if (stop.stopRequested()) {
                    Files.writeString(saved, "saved at step " + step);
                    stop.acknowledge();
                    Thread.sleep(10_000); // the JVM exits once the hook returns; this never finishes
                    return;
                }
            }
        }
    }
}
