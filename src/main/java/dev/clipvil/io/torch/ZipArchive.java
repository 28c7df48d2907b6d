package dev.clipvil.io.torch;

import dev.clipvil.io.CheckpointException;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Read access to the records of a PyTorch zip ({@code torch.save} or {@code torch.jit.save}): every
 * record lives under one top-level folder, the archive name ({@code <archive>/data.pkl},
 * {@code <archive>/data/0}, ...). Records are streamed (PyTorch stores them uncompressed; deflated
 * ones work too), their length is checked and their CRC-32 verified, and every failure becomes a
 * {@link CheckpointException} naming the file and the record.
 */
final class ZipArchive implements Closeable {
    /** Bytes per chunk handed to a {@link Sink}; a multiple of every element size. */
    static final int CHUNK = 1 << 20;

    /** Receives a record's bytes in order, {@code n} bytes of {@code buf} at a time. */
    @FunctionalInterface
    interface Sink {
        void accept(byte[] buf, int n) throws IOException;
    }

    private final Path file;
    private final ZipFile zip;
    private final Map<String, ZipEntry> entries;
    private final String root;

    private ZipArchive(Path file, ZipFile zip, Map<String, ZipEntry> entries, String root) {
        this.file = file;
        this.zip = zip;
        this.entries = entries;
        this.root = root;
    }

    /** Opens {@code file} and finds the archive folder that holds {@code data.pkl}. */
    static ZipArchive open(Path file) throws CheckpointException {
        if (Files.isDirectory(file)) throw new CheckpointException(file, "is a directory, not a PyTorch checkpoint file");
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file, "no such file", e);
        } catch (AccessDeniedException e) {
            throw new CheckpointException(file, "permission denied", e);
        } catch (ZipException e) {
            throw new CheckpointException(file, "not a readable zip archive (" + e.getMessage()
                    + "): not a PyTorch checkpoint, or the file is truncated or corrupt", e);
        } catch (IOException e) {
            if (!Files.exists(file)) throw new CheckpointException(file, "no such file", e);
            throw new CheckpointException(file, "cannot open: " + e.getMessage(), e);
        }
        try {
            Map<String, ZipEntry> entries = new LinkedHashMap<>();
            for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
                ZipEntry e = en.nextElement();
                entries.put(e.getName(), e);
            }
            List<String> roots = new ArrayList<>();
            for (String name : entries.keySet()) {
                int slash = name.indexOf('/');
                if (slash > 0 && name.substring(slash + 1).equals("data.pkl")) roots.add(name.substring(0, slash));
            }
            if (roots.isEmpty()) {
                throw new CheckpointException(file, "zip archive has no <archive>/data.pkl record, so it is not a PyTorch checkpoint (it holds "
                        + describe(entries.keySet()) + ")");
            }
            if (roots.size() > 1) throw new CheckpointException(file, "zip archive has several data.pkl records " + roots + "; expected one");
            return new ZipArchive(file, zip, Collections.unmodifiableMap(entries), roots.get(0));
        } catch (CheckpointException | RuntimeException e) {
            closeQuietly(zip);
            throw e;
        }
    }

    private static String describe(java.util.Set<String> names) {
        if (names.isEmpty()) return "no records";
        List<String> first = new ArrayList<>(names).subList(0, Math.min(5, names.size()));
        return names.size() + " records: " + String.join(", ", first) + (names.size() > 5 ? ", ..." : "");
    }

    private static void closeQuietly(ZipFile zip) {
        try {
            zip.close();
        } catch (IOException ignored) {
            // already failing; the first error is the one to report
        }
    }

    Path file() { return file; }

    /** The archive folder name, e.g. {@code archive} or {@code RN50}. */
    String root() { return root; }

    /** Whether {@code <root>/<relative>} exists. */
    boolean contains(String relative) { return entries.containsKey(root + "/" + relative); }

    /** Whether any record lies under {@code <root>/<folder>/}. */
    boolean hasFolder(String folder) {
        String prefix = root + "/" + folder + "/";
        for (String n : entries.keySet()) if (n.startsWith(prefix)) return true;
        return false;
    }

    /** The uncompressed length of {@code <root>/<relative>}, or -1 when there is no such record. */
    long length(String relative) {
        ZipEntry e = entries.get(root + "/" + relative);
        return e == null ? -1 : e.getSize();
    }

    /** The whole record {@code <root>/<relative>} (for pickles and small text records). */
    byte[] read(String relative) throws CheckpointException {
        String name = root + "/" + relative;
        ZipEntry e = entry(name);
        long n = e.getSize();
        if (n > Integer.MAX_VALUE - 8) throw new CheckpointException(file, "record '" + name + "' of " + n + " bytes is too large");
        byte[] out = new byte[(int) Math.max(n, 0)];
        int[] at = {0};
        stream(name, e, (buf, k) -> {
            System.arraycopy(buf, 0, out, at[0], k);
            at[0] += k;
        });
        return out;
    }

    /** Streams {@code <root>/<relative>}, which must hold exactly {@code expected} bytes, to {@code sink}. */
    void read(String relative, long expected, Sink sink) throws CheckpointException {
        String name = root + "/" + relative;
        ZipEntry e = entry(name);
        if (e.getSize() != expected) {
            throw new CheckpointException(file, "record '" + name + "' holds " + e.getSize() + " bytes but " + expected + " are expected"
                    + (e.getSize() < expected ? ": truncated record" : ""));
        }
        stream(name, e, sink);
    }

    private ZipEntry entry(String name) throws CheckpointException {
        ZipEntry e = entries.get(name);
        if (e == null) throw new CheckpointException(file, "missing record '" + name + "'");
        return e;
    }

    private void stream(String name, ZipEntry e, Sink sink) throws CheckpointException {
        long expected = e.getSize();
        CRC32 crc = new CRC32();
        long total = 0;
        byte[] buf = new byte[(int) Math.min(CHUNK, Math.max(expected, 1))];
        try (InputStream in = zip.getInputStream(e)) {
            while (true) {
                int n = in.readNBytes(buf, 0, (int) Math.min(buf.length, Math.max(expected - total, 0)));
                if (n == 0) break;
                crc.update(buf, 0, n);
                total += n;
                sink.accept(buf, n);
            }
            if (in.read() != -1) throw new CheckpointException(file, "record '" + name + "' is longer than its declared " + expected + " bytes");
        } catch (CheckpointException ex) {
            throw ex;
        } catch (IOException | RuntimeException ex) {
            throw new CheckpointException(file, "record '" + name + "' cannot be read (" + ex.getMessage() + "): truncated or corrupt file", ex);
        }
        if (total != expected) {
            throw new CheckpointException(file, "record '" + name + "' ended after " + total + " of " + expected + " bytes: truncated record");
        }
        if (e.getCrc() != -1 && crc.getValue() != e.getCrc()) {
            throw new CheckpointException(file, String.format("record '%s' is corrupt: CRC-32 %08x, the archive says %08x", name, crc.getValue(), e.getCrc()));
        }
    }

    @Override
    public void close() throws IOException {
        zip.close();
    }
}
