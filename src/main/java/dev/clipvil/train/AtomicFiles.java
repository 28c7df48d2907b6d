package dev.clipvil.train;

import dev.clipvil.io.DurableFiles;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * File-system steps the run folder is built from: durable writes (forced to disk), atomic replaces
 * (renames and directory syncs from {@link DurableFiles}) and recursive deletes. A file that readers may see is always replaced by a
 * rename, never rewritten in place.
 */
final class AtomicFiles {
    private AtomicFiles() {}

    /** Writes {@code bytes} to a new or truncated {@code file} and forces them to disk (no rename). */
    static void writeDurably(Path file, byte[] bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) ch.write(b);
            ch.force(true);
        }
    }

    /**
     * Replaces {@code target} with {@code text} (UTF-8) atomically: a temporary file next to it,
     * forced, then renamed over it. On failure the previous file is untouched and the temporary gone.
     */
    static void replace(Path target, String text) throws IOException {
        replace(target, text.getBytes(StandardCharsets.UTF_8));
    }

    /** {@link #replace(Path, String)} for raw bytes. */
    static void replace(Path target, byte[] bytes) throws IOException {
        Path tmp = tmpSibling(target);
        try {
            writeDurably(tmp, bytes);
            DurableFiles.move(tmp, target);
        } catch (IOException | RuntimeException | Error e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        DurableFiles.syncDirectory(parent(target));
    }

    /** A fresh name in {@code target}'s folder for a temporary file that will be renamed onto it. */
    static Path tmpSibling(Path target) {
        return parent(target).resolve("." + target.getFileName() + ".tmp-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    }

    /** Deletes {@code path} and everything under it; nothing if it does not exist. */
    static void deleteRecursively(Path path) throws IOException {
        if (!Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        List<Path> all = new ArrayList<>();
        try (Stream<Path> s = Files.walk(path)) {
            s.sorted(Comparator.reverseOrder()).forEach(all::add);
        } catch (NoSuchFileException e) {
            return;
        }
        for (Path p : all) {
            try {
                Files.deleteIfExists(p);
            } catch (DirectoryNotEmptyException e) {
                throw new IOException(p + ": could not delete (a file appeared in it meanwhile)", e);
            }
        }
    }

    static Path parent(Path p) {
        Path parent = p.toAbsolutePath().getParent();
        if (parent == null) throw new IllegalArgumentException(p + ": has no parent folder");
        return parent;
    }
}
