package dev.clipvil.nn;

/** A strict state-dict load found keys that do not match; nothing was copied. */
public final class StateDictException extends RuntimeException {
    private final LoadReport report;

    public StateDictException(String module, LoadReport report) {
        super("loading a state dict into " + module + " failed, nothing was loaded: " + report);
        this.report = report;
    }

    public LoadReport report() { return report; }
}
