package dev.clipvil.io.torch;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Writes small PyTorch-layout zips for tests: {@code <root>/data.pkl}, {@code <root>/byteorder} and records, stored uncompressed as PyTorch does. */
final class TorchZips {
    private final Map<String, byte[]> records = new LinkedHashMap<>();
    private final String root;

    TorchZips(String root, byte[] pickle) {
        this.root = root;
        put("data.pkl", pickle);
        put("byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        put("version", "3\n".getBytes(StandardCharsets.US_ASCII));
    }

    TorchZips put(String relative, byte[] bytes) {
        records.put(root + "/" + relative, bytes);
        return this;
    }

    TorchZips remove(String relative) {
        records.remove(root + "/" + relative);
        return this;
    }

    /** A storage record of floats in the given byte order. */
    static byte[] floats(ByteOrder order, float... xs) {
        ByteBuffer b = ByteBuffer.allocate(xs.length * 4).order(order);
        for (float x : xs) b.putFloat(x);
        return b.array();
    }

    static byte[] longs(long... xs) {
        ByteBuffer b = ByteBuffer.allocate(xs.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : xs) b.putLong(x);
        return b.array();
    }

    Path write(Path file) throws IOException {
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(os)) {
            for (Map.Entry<String, byte[]> r : records.entrySet()) {
                ZipEntry e = new ZipEntry(r.getKey());
                e.setMethod(ZipEntry.STORED);
                e.setSize(r.getValue().length);
                CRC32 crc = new CRC32();
                crc.update(r.getValue());
                e.setCrc(crc.getValue());
                zip.putNextEntry(e);
                zip.write(r.getValue());
                zip.closeEntry();
            }
        }
        return file;
    }
}
