package dev.clipvil.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A safetensors file that cannot be read or written. The message always starts with the file and
 * then says what is wrong with it, e.g. {@code model.safetensors: tensor 'w' data_offsets [0, 12] ...}.
 */
public final class SafeTensorsException extends IOException {
    private final transient Path file;
    private final String fault;

    public SafeTensorsException(Path file, String fault) {
        super(file + ": " + fault);
        this.file = file;
        this.fault = fault;
    }

    public SafeTensorsException(Path file, String fault, Throwable cause) {
        super(file + ": " + fault, cause);
        this.file = file;
        this.fault = fault;
    }

    /** The file concerned. */
    public Path file() { return file; }

    /** What is wrong, without the file name. */
    public String fault() { return fault; }
}
