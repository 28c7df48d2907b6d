package dev.clipvil.train;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintStream;
import java.time.Duration;

/** A console progress bar for training steps (loss, throughput, ETA), on stderr; silent when disabled. */
public final class TrainProgress implements AutoCloseable {
    private final ProgressBar bar;

    public TrainProgress(String task, long total, boolean enabled, PrintStream out) {
        // jline would warn about "dumb" terminals when stderr is not a TTY; we never need its features
        System.setProperty("org.jline.terminal.dumb", "true");
        this.bar = enabled ? new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(total)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(250)
                .setMaxRenderedLength(120)
                .setEtaFunction(state -> java.util.Optional.of(eta(state.getElapsedAfterStart(), state.getCurrent(), state.getMax())))
                .setConsumer(new ConsoleProgressBarConsumer(out))
                .build() : null;
    }

    private static Duration eta(Duration elapsed, long current, long max) {
        if (current <= 0) return Duration.ZERO;
        return elapsed.multipliedBy(Math.max(0, max - current)).dividedBy(current);
    }

    /** Moves the bar to {@code n} steps done (a resumed run starts where it stopped). */
    public void stepTo(long n) {
        if (bar != null) bar.stepTo(n);
    }

    public void step(String message) {
        if (bar == null) return;
        bar.setExtraMessage(message);
        bar.step();
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
    }
}
