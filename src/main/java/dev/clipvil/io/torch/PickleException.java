package dev.clipvil.io.torch;

import java.io.IOException;

/**
 * A pickle that the restricted unpickler will not or cannot load: a refused global, a malformed or
 * truncated byte stream, an unknown opcode. The message names the pickle (e.g. {@code archive/data.pkl})
 * and, where it helps, the byte offset; the checkpoint reader adds the file.
 */
final class PickleException extends IOException {
    PickleException(String message) {
        super(message);
    }
}
