package dev.clipvil.io.torch;

import java.math.BigInteger;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A restricted pickle reader for checkpoint files: the binary opcodes of protocols 2 to 5, building
 * plain Java values (None as null, bool, int as Long or BigInteger, float as Double, str, bytes,
 * {@link PyTuple}, list, dict, set). Globals are resolved only through {@link PickleGlobals}'
 * allow-list and never executed; REDUCE calls only its plain-data stand-ins, NEWOBJ instantiates only
 * inert TorchScript classes, and the opcodes that would reach arbitrary code (INST, OBJ, the extension
 * registry, out-of-band buffers) are refused. Lengths are checked against the bytes left before
 * anything is allocated, so a corrupt or hostile pickle fails with a message, never an
 * OutOfMemoryError.
 */
final class Unpickler {
    /** Turns a persistent id (the argument of BINPERSID) into a value. */
    @FunctionalInterface
    interface PersistentLoader {
        Object load(Object pid) throws PickleException;
    }

    /** Checkpoints nest tuples a few levels deep; this bounds recursion in equals, hashCode and messages. */
    static final int MAX_TUPLE_DEPTH = 100;

    private static final Object MARK = new Object() {
        @Override public String toString() { return "MARK"; }
    };

    private final byte[] data;
    private final String source;
    private final PersistentLoader persistent;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();
    private int pos;
    private int opStart;

    /** Reads {@code data}; {@code source} names it in messages (e.g. {@code archive/data.pkl}). */
    Unpickler(byte[] data, String source, PersistentLoader persistent) {
        this.data = data;
        this.source = source;
        this.persistent = persistent;
    }

    /** Unpickles the whole stream (up to STOP) and returns the top value. */
    Object load() throws PickleException {
        while (true) {
            opStart = pos;
            if (pos >= data.length) throw fail("truncated: the pickle ends after " + data.length + " bytes without a STOP opcode");
            int op = data[pos++] & 0xff;
            switch (op) {
                case 0x80 -> { // PROTO
                    int proto = u8();
                    if (proto > 5) throw fail("pickle protocol " + proto + " is newer than 5");
                }
                case 0x95 -> skip(8); // FRAME: a length hint only
                case '.' -> { // STOP
                    if (!marks.isEmpty()) throw fail("malformed pickle: STOP inside an open MARK");
                    if (stack.size() != 1) throw fail("malformed pickle: STOP with " + stack.size() + " values on the stack");
                    return stack.get(0);
                }
                case '(' -> { marks.add(stack.size()); }
                case '0' -> pop();
                case '1' -> popMark();
                case '2' -> push(peek());
                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'J' -> push((long) i32());
                case 'K' -> push((long) u8());
                case 'M' -> push((long) (u8() | (u8() << 8)));
                case 0x8a -> push(longLE(u8()));
                case 0x8b -> push(longLE(length(i32(), "LONG4")));
                case 'G' -> push(Double.longBitsToDouble(i64BE()));
                case 'X' -> push(utf8(length(u32(), "BINUNICODE")));
                case 0x8c -> push(utf8(u8()));
                case 0x8d -> push(utf8(length(i64(), "BINUNICODE8")));
                case 'T' -> push(latin1(length(i32(), "BINSTRING")));
                case 'U' -> push(latin1(u8()));
                case 'B' -> push(bytes(length(u32(), "BINBYTES")));
                case 'C' -> push(bytes(u8()));
                case 0x8e -> push(bytes(length(i64(), "BINBYTES8")));
                case 0x96 -> push(bytes(length(i64(), "BYTEARRAY8")));
                case ')' -> push(PyTuple.EMPTY);
                case 0x85 -> push(tuple(PyTuple.of(pop())));
                case 0x86 -> { Object b = pop(), a = pop(); push(tuple(PyTuple.of(a, b))); }
                case 0x87 -> { Object c = pop(), b = pop(), a = pop(); push(tuple(PyTuple.of(a, b, c))); }
                case 't' -> push(tuple(new PyTuple(popMark())));
                case ']' -> push(new ArrayList<>());
                case 'l' -> push(new ArrayList<>(popMark()));
                case 'a' -> { Object v = pop(); list(peek(), "APPEND").add(v); }
                case 'e' -> { List<Object> vs = popMark(); list(peek(), "APPENDS").addAll(vs); }
                case '}' -> push(new LinkedHashMap<>());
                case 'd' -> { Map<Object, Object> m = new LinkedHashMap<>(); putPairs(m, popMark()); push(m); }
                case 's' -> { Object v = pop(), k = pop(); dict(peek(), "SETITEM").put(hashable(k), v); }
                case 'u' -> { List<Object> kv = popMark(); putPairs(dict(peek(), "SETITEMS"), kv); }
                case 0x8f -> push(new LinkedHashSet<>());
                case 0x90 -> { List<Object> vs = popMark(); set(peek()).addAll(hashables(vs)); }
                case 0x91 -> push(new LinkedHashSet<>(hashables(popMark())));
                case 'q' -> memo.put((long) u8(), peek());
                case 'r' -> memo.put(u32(), peek());
                case 0x94 -> memo.put((long) memo.size(), peek());
                case 'h' -> push(memoGet(u8()));
                case 'j' -> push(memoGet(u32()));
                case 'c' -> push(global(line("GLOBAL module"), line("GLOBAL name")));
                case 0x93 -> {
                    Object name = pop(), module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw fail("malformed pickle: STACK_GLOBAL needs two strings, got " + Py.typeName(module) + " and " + Py.typeName(name));
                    }
                    push(global(m, n));
                }
                case 'R' -> { Object args = pop(), f = pop(); push(reduce(f, args)); }
                case 0x81 -> { Object args = pop(), cls = pop(); push(newObj(cls, args, null)); }
                case 0x92 -> { Object kwargs = pop(), args = pop(), cls = pop(); push(newObj(cls, args, kwargs)); }
                case 'b' -> { Object state = pop(); build(peek(), state); }
                case 'Q' -> {
                    Object pid = pop();
                    try {
                        push(persistent.load(pid));
                    } catch (PickleException e) {
                        throw fail(e.getMessage());
                    }
                }
                case 'i', 'o' -> throw fail("refusing the " + (op == 'i' ? "INST" : "OBJ")
                        + " opcode (it instantiates arbitrary classes); only state-dict objects are allowed, nothing was executed");
                case 0x82, 0x83, 0x84 -> throw fail("refusing the EXT opcode (copyreg extension registry); only state-dict objects are allowed");
                case 0x97, 0x98 -> throw fail("out-of-band buffers (pickle protocol 5 NEXT_BUFFER/READONLY_BUFFER) are not supported");
                case 'P', 'I', 'L', 'F', 'S', 'V', 'p', 'g' -> throw fail("text opcode '" + (char) op
                        + "' of pickle protocol 0 is not supported (checkpoints use protocol 2 or later)");
                default -> throw fail(String.format("bad opcode 0x%02x: not a pickle, or corrupt", op));
            }
        }
    }

    // ---- objects --------------------------------------------------------------------------------

    private Object global(String module, String name) throws PickleException {
        try {
            return PickleGlobals.resolve(module, name, source);
        } catch (PickleException e) {
            throw new PickleException(e.getMessage() + " (byte " + opStart + ")");
        }
    }

    private Object reduce(Object f, Object args) throws PickleException {
        if (!(args instanceof PyTuple t)) throw fail("malformed pickle: REDUCE arguments are a " + Py.typeName(args) + ", not a tuple");
        if (f instanceof PickleGlobals.Function fn) {
            try {
                return fn.call(t);
            } catch (PickleException e) {
                throw fail(e.getMessage());
            }
        }
        if (f instanceof PickleGlobals.ScriptClass c) return newObj(c, t, null);
        throw fail("refusing to call " + Py.typeName(f) + " with REDUCE: only state-dict objects are allowed, nothing was executed");
    }

    private Object newObj(Object cls, Object args, Object kwargs) throws PickleException {
        if (!(cls instanceof PickleGlobals.ScriptClass c)) {
            throw fail("refusing to instantiate " + Py.typeName(cls) + " with NEWOBJ: only TorchScript module classes are allowed, nothing was executed");
        }
        boolean noArgs = args instanceof PyTuple t && t.size() == 0;
        boolean noKwargs = kwargs == null || (kwargs instanceof Map<?, ?> m && m.isEmpty());
        if (!noArgs || !noKwargs) throw fail(c.qualifiedName() + " instantiated with arguments " + Py.repr(args) + "; TorchScript objects take none");
        return new ScriptObject(c.qualifiedName());
    }

    private void build(Object target, Object state) throws PickleException {
        if (target instanceof ScriptObject o) {
            try {
                o.build(state);
            } catch (PickleException e) {
                throw fail(e.getMessage());
            }
            return;
        }
        // OrderedDict attributes such as a state dict's _metadata (layer versions): not part of the weights
        if (target instanceof Map<?, ?> && (state instanceof Map<?, ?> || state instanceof PyTuple)) return;
        throw fail("refusing BUILD on a " + Py.typeName(target) + ": only TorchScript objects and dictionaries take a state");
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object target, String op) throws PickleException {
        if (target instanceof List<?> l) return (List<Object>) l;
        throw fail("malformed pickle: " + op + " on a " + Py.typeName(target) + ", not a list");
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object target, String op) throws PickleException {
        if (target instanceof Map<?, ?> m) return (Map<Object, Object>) m;
        throw fail("malformed pickle: " + op + " on a " + Py.typeName(target) + ", not a dict");
    }

    @SuppressWarnings("unchecked")
    private Set<Object> set(Object target) throws PickleException {
        if (target instanceof Set<?> s) return (Set<Object>) s;
        throw fail("malformed pickle: ADDITEMS on a " + Py.typeName(target) + ", not a set");
    }

    private void putPairs(Map<Object, Object> m, List<Object> kv) throws PickleException {
        if (kv.size() % 2 != 0) throw fail("malformed pickle: odd number (" + kv.size() + ") of keys and values");
        for (int i = 0; i < kv.size(); i += 2) m.put(hashable(kv.get(i)), kv.get(i + 1));
    }

    private Object hashable(Object k) throws PickleException {
        if (k instanceof List || k instanceof Map || k instanceof Set) throw fail("malformed pickle: unhashable " + Py.typeName(k) + " used as a key");
        if (k instanceof PyTuple t && !t.hashable()) throw fail("malformed pickle: unhashable tuple (it holds a list, dict or set) used as a key");
        return k;
    }

    private PyTuple tuple(PyTuple t) throws PickleException {
        if (t.depth() > MAX_TUPLE_DEPTH) throw fail("malformed pickle: tuples nested deeper than " + MAX_TUPLE_DEPTH + " levels");
        return t;
    }

    private Collection<Object> hashables(List<Object> vs) throws PickleException {
        for (Object v : vs) hashable(v);
        return vs;
    }

    private Object memoGet(long key) throws PickleException {
        if (!memo.containsKey(key)) throw fail("malformed pickle: memo entry " + key + " was never stored");
        return memo.get(key);
    }

    // ---- stack ----------------------------------------------------------------------------------

    private void push(Object v) { stack.add(v); }

    private int floor() { return marks.isEmpty() ? 0 : marks.get(marks.size() - 1); }

    private Object pop() throws PickleException {
        if (stack.size() <= floor()) throw fail("malformed pickle: stack underflow");
        return stack.remove(stack.size() - 1);
    }

    private Object peek() throws PickleException {
        if (stack.size() <= floor()) throw fail("malformed pickle: stack underflow");
        return stack.get(stack.size() - 1);
    }

    /** The values pushed since the last MARK, which is removed. */
    private List<Object> popMark() throws PickleException {
        if (marks.isEmpty()) throw fail("malformed pickle: no MARK to pop to");
        int m = marks.remove(marks.size() - 1);
        List<Object> tail = stack.subList(m, stack.size());
        List<Object> out = new ArrayList<>(tail);
        tail.clear();
        return out;
    }

    // ---- bytes ----------------------------------------------------------------------------------

    private void need(long n) throws PickleException {
        if (n > data.length - pos) {
            throw fail("truncated: needs " + n + " more bytes at byte " + pos + " but the pickle has " + (data.length - pos) + " left");
        }
    }

    private void skip(int n) throws PickleException {
        need(n);
        pos += n;
    }

    private int u8() throws PickleException {
        need(1);
        return data[pos++] & 0xff;
    }

    private int i32() throws PickleException {
        need(4);
        int v = (data[pos] & 0xff) | (data[pos + 1] & 0xff) << 8 | (data[pos + 2] & 0xff) << 16 | (data[pos + 3] & 0xff) << 24;
        pos += 4;
        return v;
    }

    private long u32() throws PickleException { return i32() & 0xffffffffL; }

    private long i64() throws PickleException {
        long lo = u32(), hi = u32();
        return lo | hi << 32;
    }

    private long i64BE() throws PickleException {
        need(8);
        long v = 0;
        for (int i = 0; i < 8; i++) v = v << 8 | (data[pos++] & 0xff);
        return v;
    }

    /** A length read from the stream, checked against the bytes left. */
    private int length(long n, String op) throws PickleException {
        if (n < 0) throw fail("malformed pickle: negative " + op + " length " + n);
        need(n);
        return (int) n;
    }

    /** A little-endian two's-complement integer of {@code n} bytes (LONG1/LONG4). */
    private Object longLE(int n) throws PickleException {
        need(n);
        if (n == 0) {
            return 0L;
        }
        byte[] be = new byte[n];
        for (int i = 0; i < n; i++) be[i] = data[pos + n - 1 - i];
        pos += n;
        BigInteger v = new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private byte[] bytes(int n) throws PickleException {
        need(n);
        byte[] b = new byte[n];
        System.arraycopy(data, pos, b, 0, n);
        pos += n;
        return b;
    }

    private String utf8(int n) throws PickleException {
        need(n);
        try {
            String s = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(data, pos, n)).toString();
            pos += n;
            return s;
        } catch (CharacterCodingException e) {
            throw fail("malformed pickle: a string is not valid UTF-8");
        }
    }

    private String latin1(int n) throws PickleException {
        need(n);
        String s = new String(data, pos, n, StandardCharsets.ISO_8859_1);
        pos += n;
        return s;
    }

    /** A newline-terminated ASCII line (GLOBAL's module and name). */
    private String line(String what) throws PickleException {
        int start = pos;
        int limit = Math.min(data.length, pos + 1024);
        for (int i = pos; i < limit; i++) {
            if (data[i] == '\n') {
                pos = i + 1;
                return new String(data, start, i - start, StandardCharsets.UTF_8);
            }
        }
        throw fail(data.length - start < 1024 ? "truncated: " + what + " has no end of line" : "malformed pickle: " + what + " is longer than 1024 bytes");
    }

    private PickleException fail(String fault) {
        return new PickleException(source + ": " + fault + " (byte " + opStart + ")");
    }
}
