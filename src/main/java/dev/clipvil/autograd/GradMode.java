package dev.clipvil.autograd;

/** Whether ops record the autograd graph on this thread. {@code try (var g = GradMode.noGrad()) {...}} turns it off. */
public final class GradMode {
    private static final ThreadLocal<boolean[]> ENABLED = ThreadLocal.withInitial(() -> new boolean[]{true});

    private GradMode() {}

    public static boolean isEnabled() { return ENABLED.get()[0]; }

    /** Disables recording until the returned guard is closed (then restores the previous mode). */
    public static Guard noGrad() { return set(false); }

    /** Enables recording until the returned guard is closed. */
    public static Guard enableGrad() { return set(true); }

    private static Guard set(boolean on) {
        boolean[] cell = ENABLED.get();
        boolean prev = cell[0];
        cell[0] = on;
        return () -> cell[0] = prev;
    }

    /** Restores the previous grad mode on close. */
    public interface Guard extends AutoCloseable {
        @Override void close();
    }
}
