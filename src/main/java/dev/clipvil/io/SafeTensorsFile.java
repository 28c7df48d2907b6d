package dev.clipvil.io;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An open safetensors file. The header is read and fully validated by {@link SafeTensors#open};
 * tensors are materialised on demand from a memory map of their byte range. Mapping goes window by
 * window (at most 1 GiB each) at 64-bit file offsets, so files and tensors beyond 2 GiB work.
 * Thread-safe for concurrent {@link #tensor} calls.
 */
public final class SafeTensorsFile implements AutoCloseable {
    /** The reference implementation's limit on the header size. */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    static final long WINDOW_BYTES = 1L << 30;

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final long headerLength;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafeTensorsFile(Path path, FileChannel channel, long headerLength, Header header) {
        this.path = path;
        this.channel = channel;
        this.headerLength = headerLength;
        this.dataStart = 8 + headerLength;
        Map<String, TensorInfo> m = new LinkedHashMap<>();
        for (TensorInfo t : header.tensors()) m.put(t.name(), t);
        this.tensors = Collections.unmodifiableMap(m);
        this.metadata = header.metadata();
    }

    static SafeTensorsFile open(Path path) throws IOException {
        if (Files.isDirectory(path)) throw new SafeTensorsException(path, "is a directory, not a safetensors file");
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new SafeTensorsException(path, "no such file", e);
        } catch (AccessDeniedException e) {
            throw new SafeTensorsException(path, "permission denied", e);
        } catch (IOException e) {
            throw new SafeTensorsException(path, "cannot open: " + e.getMessage(), e);
        }
        try {
            long size = ch.size();
            if (size < 8) throw new SafeTensorsException(path, "file is " + size + " bytes, shorter than the 8-byte header length");
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long n = lenBuf.getLong(0);
            if (n < 0 || n > MAX_HEADER_BYTES) {
                throw new SafeTensorsException(path, "header length " + Long.toUnsignedString(n) + " is absurd (the limit is "
                        + MAX_HEADER_BYTES + " bytes); not a safetensors file?");
            }
            if (n > size - 8) {
                throw new SafeTensorsException(path, "header length " + n + " is larger than the file (" + size
                        + " bytes): not a safetensors file, or truncated");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) n);
            readFully(ch, hb, 8);
            Header header = Header.parse(path, hb.array(), size - 8 - n);
            return new SafeTensorsFile(path, ch, n, header);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos + buf.position());
            if (r < 0) throw new IOException("unexpected end of file");
        }
    }

    public Path path() { return path; }

    /** Bytes of the JSON header (with its padding). */
    public long headerLength() { return headerLength; }

    /** Tensor names in file order (by data offset). */
    public List<String> names() { return new ArrayList<>(tensors.keySet()); }

    /** Every entry, in file order. */
    public List<TensorInfo> infos() { return new ArrayList<>(tensors.values()); }

    public boolean contains(String name) { return tensors.containsKey(name); }

    /** The header entry of {@code name}. */
    public TensorInfo info(String name) throws SafeTensorsException {
        TensorInfo t = tensors.get(name);
        if (t == null) throw new SafeTensorsException(path, "no tensor named '" + name + "' (the file has " + tensors.size() + " tensors)");
        return t;
    }

    /** The {@code __metadata__} map (empty when the file has none). */
    public Map<String, String> metadata() { return metadata; }

    /** A new host tensor holding {@code name}'s elements; the caller owns (closes) it. */
    public Tensor tensor(String name) throws IOException {
        return tensor(name, WINDOW_BYTES);
    }

    /** As {@link #tensor(String)}, mapping at most {@code window} bytes at a time (tests use small windows). */
    Tensor tensor(String name, long window) throws IOException {
        TensorInfo info = info(name);
        DType dtype = info.engineDType().orElseThrow(() -> new SafeTensorsException(path, "tensor '" + name + "' has dtype "
                + info.dtype() + ", which clipvil cannot load (it loads F32, F64, BF16, F16, I32, I64 and BOOL)"));
        int[] shape = intShape(info);
        if (!channel.isOpen()) throw new SafeTensorsException(path, "file is closed; tensor '" + name + "' cannot be read");
        long need = dataStart + info.end();
        if (channel.size() < need) {
            throw new SafeTensorsException(path, "file shrank to " + channel.size() + " bytes since it was opened; tensor '" + name
                    + "' needs " + need);
        }
        Tensor t = Tensor.empty(dtype, shape);
        try {
            copyInto(info, dtype, t.hostStorage().raw(), window);
            return t;
        } catch (IOException | RuntimeException e) {
            t.close();
            throw e;
        } catch (InternalError e) {
            // a fault on a mapped page: the file was truncated under us
            t.close();
            throw new SafeTensorsException(path, "file changed while tensor '" + name + "' was read", e);
        }
    }

    private int[] intShape(TensorInfo info) throws SafeTensorsException {
        long[] s = info.shape();
        int[] out = new int[s.length];
        long numel = info.numel();
        for (int i = 0; i < s.length; i++) {
            if (s[i] > Integer.MAX_VALUE || numel > Integer.MAX_VALUE) {
                throw new SafeTensorsException(path, "tensor '" + info.name() + "' of shape " + info.shapeString()
                        + " is too large to load (a tensor holds at most 2^31-1 elements)");
            }
            out[i] = (int) s[i];
        }
        return out;
    }

    private void copyInto(TensorInfo info, DType dtype, Object array, long window) throws IOException {
        int size = dtype.byteSize();
        long total = info.byteLength();
        long chunk = Math.max(size, Math.min(window, Integer.MAX_VALUE) / size * size);
        int element = 0;
        for (long pos = 0; pos < total; pos += chunk) {
            long len = Math.min(chunk, total - pos);
            MappedByteBuffer mb = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + info.begin() + pos, len);
            int n = (int) (len / size);
            ElementBytes.read(mb, dtype, array, element, n);
            if (dtype == DType.BOOL) checkBools(info, (byte[]) array, element, n);
            element += n;
        }
    }

    private void checkBools(TensorInfo info, byte[] a, int from, int n) throws SafeTensorsException {
        for (int i = from; i < from + n; i++) {
            if (a[i] != 0 && a[i] != 1) {
                throw new SafeTensorsException(path, "BOOL tensor '" + info.name() + "' holds the byte " + (a[i] & 0xff)
                        + " at element " + i + " (a BOOL is 0 or 1)");
            }
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    @Override
    public String toString() {
        return "SafeTensorsFile[" + path + ", " + tensors.size() + " tensors]";
    }
}
