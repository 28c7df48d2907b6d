package dev.clipvil.io.torch;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writes pickle opcodes byte by byte, for tests: each method appends one opcode with its argument,
 * exactly as the pickle format lays it out, so a test reads like a pickletools listing.
 */
final class PickleBytes {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    PickleBytes op(int... bytes) {
        for (int b : bytes) out.write(b);
        return this;
    }

    PickleBytes proto(int p) { return op(0x80, p); }
    PickleBytes stop() { return op('.'); }
    PickleBytes mark() { return op('('); }
    PickleBytes tuple() { return op('t'); }
    PickleBytes emptyTuple() { return op(')'); }
    PickleBytes emptyDict() { return op('}'); }
    PickleBytes setItems() { return op('u'); }
    PickleBytes reduce() { return op('R'); }
    PickleBytes build() { return op('b'); }
    PickleBytes newObj() { return op(0x81); }
    PickleBytes binPersId() { return op('Q'); }
    PickleBytes none() { return op('N'); }
    PickleBytes bool(boolean b) { return op(b ? 0x88 : 0x89); }

    /** BININT1, BININT2 or BININT, as pickle picks for the value. */
    PickleBytes integer(long v) {
        if (v >= 0 && v < 256) return op('K', (int) v);
        if (v >= 0 && v < 65536) return op('M', (int) v & 0xff, (int) (v >> 8));
        if (v == (int) v) return op('J').le((int) v, 4);
        return op(0x8a, 8).le(v, 8); // LONG1 with 8 bytes
    }

    /** BINUNICODE: 4-byte little-endian length, then UTF-8. */
    PickleBytes str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        op('X').le(b.length, 4);
        out.writeBytes(b);
        return this;
    }

    /** GLOBAL: module and name as newline-terminated lines. */
    PickleBytes global(String module, String name) {
        op('c');
        out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
        return this;
    }

    PickleBytes binPut(int i) { return op('q', i); }
    PickleBytes binGet(int i) { return op('h', i); }

    PickleBytes le(long v, int n) {
        for (int i = 0; i < n; i++) out.write((int) (v >>> (8 * i)));
        return this;
    }

    /** A tuple of ints: MARK, the ints, TUPLE. */
    PickleBytes ints(long... xs) {
        mark();
        for (long x : xs) integer(x);
        return tuple();
    }

    /** The persistent id ('storage', torch.&lt;type&gt;, key, 'cpu', numel) and BINPERSID. */
    PickleBytes storage(String type, String key, long numel) {
        return mark().str("storage").global("torch", type).str(key).str("cpu").integer(numel).tuple().binPersId();
    }

    /** _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()) as torch.save writes it. */
    PickleBytes tensor(String type, String key, long numel, long offset, long[] size, long[] stride) {
        global("torch._utils", "_rebuild_tensor_v2").mark();
        storage(type, key, numel).integer(offset).ints(size).ints(stride).bool(false);
        return global("collections", "OrderedDict").emptyTuple().reduce().tuple().reduce();
    }

    byte[] bytes() { return out.toByteArray(); }
}
