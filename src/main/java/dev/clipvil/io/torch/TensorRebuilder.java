package dev.clipvil.io.torch;

import dev.clipvil.backend.Backends;
import dev.clipvil.io.CheckpointException;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Turns {@link TensorRef}s into tensors: reads each storage record {@code <archive>/data/<key>} once
 * (in the archive's byte order), then builds the strided view that {@code _rebuild_tensor_v2}
 * describes and hands the caller a contiguous tensor of its own: the storage itself when the view
 * covers it exactly, a compact copy otherwise (so a slice never pins a larger shared storage).
 * {@link #close()} drops the storages; the tensors built keep what they use.
 */
final class TensorRebuilder implements Closeable {
    private final ZipArchive zip;
    private final ByteOrder order;
    private final Map<String, Loaded> storages = new HashMap<>();

    private record Loaded(StorageRef ref, Tensor flat) {}

    TensorRebuilder(ZipArchive zip) throws CheckpointException {
        this.zip = zip;
        this.order = byteOrder(zip);
    }

    private static ByteOrder byteOrder(ZipArchive zip) throws CheckpointException {
        if (!zip.contains("byteorder")) return ByteOrder.LITTLE_ENDIAN; // archives before the record existed were little-endian
        String s = new String(zip.read("byteorder"), StandardCharsets.US_ASCII).trim();
        return switch (s) {
            case "little" -> ByteOrder.LITTLE_ENDIAN;
            case "big" -> ByteOrder.BIG_ENDIAN;
            default -> throw new CheckpointException(zip.file(), "record '" + zip.root() + "/byteorder' says '" + s + "', not little or big");
        };
    }

    /** A new contiguous tensor for {@code ref}, named {@code name} in messages; the caller closes it. */
    Tensor build(String name, TensorRef ref) throws IOException {
        StorageRef s = ref.storage();
        DType dtype = s.type().dtype();
        if (dtype == null) {
            throw new CheckpointException(zip.file(), "tensor '" + name + "' has storage type " + s.type() + " (" + s.type().torchDType()
                    + "), which clipvil cannot load (it loads float32, float64, float16, bfloat16, int32, int64 and bool)");
        }
        int[] shape = ints(name, "size", ref.size());
        int[] stride = ints(name, "stride", ref.stride());
        if (ref.offset() < 0 || ref.offset() > Integer.MAX_VALUE) throw fault(name, "storage offset " + ref.offset() + " is out of range");
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] < 0 || stride[d] < 0) throw fault(name, "size " + Arrays.toString(ref.size()) + " / stride " + Arrays.toString(ref.stride()) + " has negative entries");
        }
        Tensor flat = storage(name, s);
        Tensor view;
        try {
            view = flat.asStrided(shape, stride, (int) ref.offset());
        } catch (ShapeException e) {
            throw fault(name, "size " + Shapes.str(shape) + " stride " + Shapes.str(stride) + " offset " + ref.offset()
                    + " reaches outside its storage " + s + ": corrupt checkpoint");
        }
        if (view.isContiguous() && ref.offset() == 0 && view.numel() == flat.numel()) return view;
        try (view) {
            Tensor out = Tensor.empty(dtype, shape);
            try {
                Backends.of(view).copy(view, out);
                return out;
            } catch (RuntimeException e) {
                out.close();
                throw e;
            }
        }
    }

    private int[] ints(String name, String what, long[] xs) throws CheckpointException {
        int[] out = new int[xs.length];
        for (int i = 0; i < xs.length; i++) {
            if (xs[i] > Integer.MAX_VALUE || xs[i] < Integer.MIN_VALUE) {
                throw fault(name, what + " " + Arrays.toString(xs) + " is too large (a tensor dimension holds at most 2^31-1 elements)");
            }
            out[i] = (int) xs[i];
        }
        long numel = 1;
        if (what.equals("size")) {
            for (long x : xs) numel *= Math.max(x, 0);
            if (numel > Integer.MAX_VALUE) throw fault(name, "size " + Arrays.toString(xs) + " is too large (a tensor holds at most 2^31-1 elements)");
        }
        return out;
    }

    private Tensor storage(String name, StorageRef s) throws IOException {
        Loaded l = storages.get(s.key());
        if (l != null) {
            if (l.ref.type() != s.type() || l.ref.numel() != s.numel()) {
                throw fault(name, "storage '" + s.key() + "' is named as " + s + " here and as " + l.ref + " elsewhere: corrupt checkpoint");
            }
            return l.flat;
        }
        DType dtype = s.type().dtype();
        if (s.numel() < 0 || s.numel() > Integer.MAX_VALUE) {
            throw fault(name, "storage " + s + " is too large to load (a storage holds at most 2^31-1 elements)");
        }
        int numel = (int) s.numel();
        String record = "data/" + s.key();
        Tensor flat = Tensor.empty(dtype, numel);
        try {
            if (numel > 0 || zip.length(record) >= 0) fill(flat, record, s);
        } catch (IOException | RuntimeException e) {
            flat.close();
            throw e;
        }
        storages.put(s.key(), new Loaded(s, flat));
        return flat;
    }

    private void fill(Tensor flat, String record, StorageRef s) throws IOException {
        DType dtype = flat.dtype();
        int size = dtype.byteSize();
        long bytes = (long) flat.numel() * size;
        long have = zip.length(record);
        if (have >= 0 && have != bytes) {
            throw new CheckpointException(zip.file(), "record '" + zip.root() + "/" + record + "' holds " + have + " bytes but " + s
                    + " needs " + bytes + (have < bytes ? ": truncated record" : ""));
        }
        Object array = flat.hostStorage().raw();
        int[] at = {0};
        zip.read(record, bytes, (buf, n) -> {
            ByteBuffer b = ByteBuffer.wrap(buf, 0, n).order(order);
            int k = n / size, off = at[0];
            switch (dtype) {
                case F32 -> b.asFloatBuffer().get((float[]) array, off, k);
                case F64 -> b.asDoubleBuffer().get((double[]) array, off, k);
                case BF16, F16 -> b.asShortBuffer().get((short[]) array, off, k);
                case I32 -> b.asIntBuffer().get((int[]) array, off, k);
                case I64 -> b.asLongBuffer().get((long[]) array, off, k);
                case BOOL -> {
                    byte[] a = (byte[]) array;
                    for (int i = 0; i < k; i++) {
                        if (buf[i] != 0 && buf[i] != 1) {
                            throw new CheckpointException(zip.file(), "record '" + zip.root() + "/" + record + "' of a BoolStorage holds the byte "
                                    + (buf[i] & 0xff) + " at element " + (off + i) + " (a bool is 0 or 1)");
                        }
                        a[off + i] = buf[i];
                    }
                }
                default -> throw new AssertionError(dtype);
            }
            at[0] += k;
        });
    }

    private CheckpointException fault(String name, String what) {
        return new CheckpointException(zip.file(), "tensor '" + name + "': " + what);
    }

    @Override
    public void close() {
        for (Loaded l : storages.values()) l.flat.close();
        storages.clear();
    }
}
