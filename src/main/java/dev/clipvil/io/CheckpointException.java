package dev.clipvil.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A checkpoint (PyTorch zip, TorchScript archive, model folder) that cannot be read. As with
 * {@link SafeTensorsException}, the message starts with the file and then says what is wrong, e.g.
 * {@code RN50.pt: record 'RN50/data/12' holds 100 bytes but FloatStorage of 64 elements needs 256}.
 */
public final class CheckpointException extends IOException {
    private final transient Path file;
    private final String fault;

    public CheckpointException(Path file, String fault) {
        super(file + ": " + fault);
        this.file = file;
        this.fault = fault;
    }

    public CheckpointException(Path file, String fault, Throwable cause) {
        super(file + ": " + fault, cause);
        this.file = file;
        this.fault = fault;
    }

    /** The file (or folder) concerned. */
    public Path file() { return file; }

    /** What is wrong, without the file name. */
    public String fault() { return fault; }
}
