package dev.clipvil.io;

import com.google.gson.stream.JsonWriter;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.HostStorage;
import dev.clipvil.tensor.Storage;
import dev.clipvil.tensor.Tensor;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes safetensors files. Header order is the iteration order of the given map (pass a
 * {@code LinkedHashMap} for insertion order or a {@code TreeMap} for sorted names), {@code __metadata__}
 * first; the data follows contiguously in the same order, every tensor in row-major logical order
 * whatever its strides. The header is padded with spaces to a multiple of 8 bytes, as the reference
 * implementation does, so the data section starts 8-byte aligned.
 *
 * <p>The file is written to a temporary file in the target's directory, forced to disk, then moved
 * atomically over the target: a failed save leaves any previous file untouched and no temporary behind.
 */
final class SafeTensorsWriter {
    private static final int BUFFER_BYTES = 1 << 20;

    private SafeTensorsWriter() {}

    private record Entry(String name, Tensor tensor, long begin, long end) {}

    static void write(Path target, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        if (tensors == null) throw new SafeTensorsException(target, "cannot write: the tensor map is null");
        List<Entry> entries = plan(target, tensors);
        byte[] header = header(entries, metadata == null ? Map.of() : metadata, target);
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = dir.resolve("." + target.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
                buf.putLong(header.length);
                flush(ch, buf);
                writeFully(ch, ByteBuffer.wrap(header));
                for (Entry e : entries) writeTensor(target, ch, buf, e, 8L + header.length);
                ch.force(true);
            }
            DurableFiles.move(tmp, target);
        } catch (Throwable e) {
            Files.deleteIfExists(tmp);
            if (e instanceof SafeTensorsException || e instanceof Error) throw e;
            if (e instanceof NoSuchFileException && !Files.isDirectory(dir)) {
                throw new SafeTensorsException(target, "cannot write: the directory " + dir + " does not exist", e);
            }
            throw new SafeTensorsException(target, "writing failed, the previous file (if any) is kept: " + e, e);
        }
        DurableFiles.syncDirectory(dir);
    }

    /** Validates the inputs before anything touches the disk and lays out the data offsets. */
    private static List<Entry> plan(Path target, Map<String, Tensor> tensors) throws SafeTensorsException {
        List<Entry> out = new ArrayList<>(tensors.size());
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String name = e.getKey();
            Tensor t = e.getValue();
            if (name == null) throw new SafeTensorsException(target, "cannot write a tensor with a null name");
            if (name.equals(Header.METADATA_KEY)) throw new SafeTensorsException(target, "cannot write a tensor named " + Header.METADATA_KEY);
            if (t == null) throw new SafeTensorsException(target, "cannot write tensor '" + name + "': it is null");
            if (t.isClosed()) throw new SafeTensorsException(target, "cannot write tensor '" + name + "': it is closed");
            long bytes = (long) t.numel() * t.dtype().byteSize();
            out.add(new Entry(name, t, offset, offset + bytes));
            offset += bytes;
        }
        return out;
    }

    private static byte[] header(List<Entry> entries, Map<String, String> metadata, Path target) throws IOException {
        StringWriter sw = new StringWriter();
        try (JsonWriter w = new JsonWriter(sw)) {
            w.setHtmlSafe(false);
            w.beginObject();
            if (!metadata.isEmpty()) {
                w.name(Header.METADATA_KEY).beginObject();
                for (Map.Entry<String, String> m : metadata.entrySet()) {
                    if (m.getKey() == null || m.getValue() == null) {
                        throw new SafeTensorsException(target, "cannot write metadata with a null key or value (key " + m.getKey() + ")");
                    }
                    w.name(m.getKey()).value(m.getValue());
                }
                w.endObject();
            }
            for (Entry e : entries) {
                w.name(e.name).beginObject();
                w.name("dtype").value(e.tensor.dtype().safetensorsName());
                w.name("shape").beginArray();
                for (int d : e.tensor.shape()) w.value(d);
                w.endArray();
                w.name("data_offsets").beginArray().value(e.begin).value(e.end).endArray();
                w.endObject();
            }
            w.endObject();
        }
        byte[] json = sw.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = new byte[padded];
        System.arraycopy(json, 0, out, 0, json.length);
        for (int i = json.length; i < padded; i++) out[i] = ' ';
        return out;
    }

    private static void writeTensor(Path target, FileChannel ch, ByteBuffer buf, Entry e, long dataStart) throws IOException {
        Tensor t = e.tensor;
        if (t.numel() == 0) return;
        DType dtype = t.dtype();
        int size = dtype.byteSize();
        Storage storage = t.storage();
        HostStorage h = storage.host();
        try {
            Object a = h.raw();
            if (t.isContiguous()) {
                int perChunk = buf.capacity() / size;
                for (int i = 0; i < t.numel(); i += perChunk) {
                    int n = Math.min(perChunk, t.numel() - i);
                    ElementBytes.write(buf, dtype, a, t.offset() + i, n);
                    flush(ch, buf);
                }
            } else {
                int[] shape = t.shape(), strides = t.strides();
                int[] idx = new int[shape.length];
                int o = t.offset();
                for (int i = 0; i < t.numel(); i++) {
                    if (buf.remaining() < size) flush(ch, buf);
                    ElementBytes.writeOne(buf, dtype, a, o);
                    for (int d = shape.length - 1; d >= 0; d--) {
                        o += strides[d];
                        if (++idx[d] < shape[d]) break;
                        o -= strides[d] * shape[d];
                        idx[d] = 0;
                    }
                }
                flush(ch, buf);
            }
        } finally {
            storage.freeHostCopy(h);
        }
        if (ch.position() != dataStart + e.end) {
            throw new SafeTensorsException(target, "internal error: tensor '" + e.name + "' ended at file position " + ch.position());
        }
    }

    private static void flush(FileChannel ch, ByteBuffer buf) throws IOException {
        buf.flip();
        writeFully(ch, buf);
        buf.clear();
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }
}
