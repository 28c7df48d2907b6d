package dev.clipvil.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** The two file-system steps every atomic save here ends with: the rename into place and the directory sync. */
public final class DurableFiles {
    private DurableFiles() {}

    /** Renames atomically where the file system can (always on one POSIX file system), replacing a file. */
    public static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Makes renames in {@code dir} durable. Best effort by design: some platforms cannot open a
     * directory for fsync, and the renamed files themselves were forced before the rename.
     */
    public static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException notSupported) {
            // the platform cannot sync a directory; the data is already on disk
        }
    }
}
