package dev.clipvil.io.torch;

import java.math.BigInteger;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Helpers on unpickled Python values: type names and reprs for messages, checked conversions. */
final class Py {
    private Py() {}

    /** Python's name of the value's type, for messages. */
    static String typeName(Object v) {
        if (v == null) return "None";
        if (v instanceof Boolean) return "bool";
        if (v instanceof Long || v instanceof BigInteger) return "int";
        if (v instanceof Double) return "float";
        if (v instanceof String) return "str";
        if (v instanceof byte[]) return "bytes";
        if (v instanceof PyTuple) return "tuple";
        if (v instanceof List) return "list";
        if (v instanceof Map) return "dict";
        if (v instanceof Set) return "set";
        if (v instanceof TensorRef) return "tensor";
        if (v instanceof StorageRef) return "storage";
        if (v instanceof ScriptObject s) return s.className();
        if (v instanceof PickleGlobals.Global g) return g.qualifiedName();
        return v.getClass().getSimpleName();
    }

    /** A short repr of the value, for messages (long values are cut). */
    static String repr(Object v) {
        String s;
        if (v == null) s = "None";
        else if (v instanceof Boolean b) s = b ? "True" : "False";
        else if (v instanceof String str) s = "'" + str + "'";
        else if (v instanceof byte[] b) s = "b<" + b.length + " bytes>";
        else if (v instanceof List<?> l) s = "[" + l.size() + " items]";
        else if (v instanceof Map<?, ?> m) s = "{" + m.size() + " items}";
        else s = String.valueOf(v);
        return s.length() > 80 ? s.substring(0, 77) + "..." : s;
    }

    /** {@code v} as a long, or an error saying what {@code what} should have been. */
    static long toLong(Object v, String what) throws PickleException {
        if (v instanceof Long l) return l;
        if (v instanceof Boolean b) return b ? 1 : 0;
        if (v instanceof BigInteger) throw new PickleException(what + " " + v + " does not fit in 64 bits");
        throw new PickleException(what + " should be an int, got " + typeName(v) + " " + repr(v));
    }

    /** The elements of a tuple or list of ints. */
    static long[] toLongs(Object v, String what) throws PickleException {
        List<?> items;
        if (v instanceof PyTuple t) items = t.items();
        else if (v instanceof List<?> l) items = l;
        else throw new PickleException(what + " should be a tuple of ints, got " + typeName(v) + " " + repr(v));
        long[] out = new long[items.size()];
        for (int i = 0; i < out.length; i++) out[i] = toLong(items.get(i), what + "[" + i + "]");
        return out;
    }

    static String toStr(Object v, String what) throws PickleException {
        if (v instanceof String s) return s;
        throw new PickleException(what + " should be a str, got " + typeName(v) + " " + repr(v));
    }
}
