package dev.clipvil.io.torch;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * A Python tuple as the unpickler builds it: an immutable list (elements may be null, Python's None),
 * with value equality so that tuples can be dictionary keys, as in Python. Its nesting depth (tuples
 * within tuples) is known at construction, so that the unpickler can refuse absurdly deep nesting
 * before equality, hashing or printing would recurse that deep.
 */
record PyTuple(List<Object> items, int depth, boolean hashable) {
    static final PyTuple EMPTY = new PyTuple(List.of());

    PyTuple {
        items = Collections.unmodifiableList(new ArrayList<>(items));
    }

    PyTuple(Collection<?> items) {
        this(new ArrayList<>(items), depthOf(items), hashableItems(items));
    }

    private static int depthOf(Collection<?> items) {
        int d = 0;
        for (Object o : items) if (o instanceof PyTuple t) d = Math.max(d, t.depth);
        return d + 1;
    }

    /** Like Python: a tuple is hashable when none of its elements is a list, dict or set (or such a tuple). */
    private static boolean hashableItems(Collection<?> items) {
        for (Object o : items) {
            if (o instanceof List || o instanceof Map || o instanceof java.util.Set) return false;
            if (o instanceof PyTuple t && !t.hashable) return false;
        }
        return true;
    }

    static PyTuple of(Object... xs) {
        List<Object> l = new ArrayList<>(xs.length);
        Collections.addAll(l, xs);
        return new PyTuple(l);
    }

    int size() { return items.size(); }

    Object get(int i) { return items.get(i); }

    @Override
    public boolean equals(Object o) { return o instanceof PyTuple t && items.equals(t.items); }

    @Override
    public int hashCode() { return items.hashCode(); }

    /** Python-like, with nested tuples shown as {@code (...)}. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < items.size(); i++) {
            if (i > 0) sb.append(", ");
            Object v = items.get(i);
            sb.append(v instanceof PyTuple ? "(...)" : Py.repr(v));
        }
        return sb.append(items.size() == 1 ? ",)" : ")").toString();
    }
}
