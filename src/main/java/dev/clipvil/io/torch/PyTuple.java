package dev.clipvil.io.torch;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A Python tuple as the unpickler builds it: an immutable list (elements may be null, Python's None),
 * with value equality so that tuples can be dictionary keys, as in Python.
 */
record PyTuple(List<Object> items) {
    static final PyTuple EMPTY = new PyTuple(List.of());

    PyTuple {
        items = Collections.unmodifiableList(new ArrayList<>(items));
    }

    static PyTuple of(Object... xs) {
        List<Object> l = new ArrayList<>(xs.length);
        Collections.addAll(l, xs);
        return new PyTuple(l);
    }

    int size() { return items.size(); }

    Object get(int i) { return items.get(i); }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < items.size(); i++) {
            if (i > 0) sb.append(", ");
            sb.append(Py.repr(items.get(i)));
        }
        return sb.append(items.size() == 1 ? ",)" : ")").toString();
    }
}
