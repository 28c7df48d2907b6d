package dev.clipvil.train;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A run folder that cannot be used as asked (a new run in a folder holding other files, a resume of a
 * folder without a checkpoint, an unreadable {@code run.json}). The message starts with the path and
 * then says what is wrong and what to do, e.g. {@code runs/a: holds no checkpoint to resume ...}.
 */
public final class RunException extends IOException {
    private final transient Path path;
    private final String fault;

    public RunException(Path path, String fault) {
        super(path + ": " + fault);
        this.path = path;
        this.fault = fault;
    }

    public RunException(Path path, String fault, Throwable cause) {
        super(path + ": " + fault, cause);
        this.path = path;
        this.fault = fault;
    }

    /** The folder or file concerned. */
    public Path path() { return path; }

    /** What is wrong, without the path. */
    public String fault() { return fault; }
}
