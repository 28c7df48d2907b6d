package dev.clipvil.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;

/** An indexed list of modules named "0", "1", ... (state-dict keys like "resblocks.3.ln_1.weight"). */
public class ModuleList<M extends Module> extends Module implements Iterable<M> {
    private final List<M> items = new ArrayList<>();

    @SafeVarargs
    public ModuleList(M... modules) {
        for (M m : modules) add(m);
    }

    /** Appends {@code m}. Returns it. */
    public M add(M m) {
        registerModule(Integer.toString(items.size()), m);
        items.add(m);
        return m;
    }

    public M get(int i) { return items.get(i); }

    public int size() { return items.size(); }

    @Override
    public Iterator<M> iterator() { return Collections.unmodifiableList(items).iterator(); }
}
