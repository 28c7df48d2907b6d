package dev.clipvil.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.Collections;

/**
 * Deterministic lifetimes. Every tensor made while a scope is open on this thread belongs to it, and
 * is closed when the scope closes, except those passed to {@link #keep}: they move to the enclosing
 * scope, or, at the outermost scope, to the caller, who closes them. Tensors made with no scope open
 * (parameters, optimizer state) belong to whoever made them.
 *
 * <pre>
 * try (MemoryScope step = MemoryScope.open()) {
 *     Tensor loss = model.loss(batch);
 *     loss.backward();
 *     optimizer.step();
 *     lossValue = loss.item();
 * } // every activation, gradient of a non-leaf and temporary is freed here
 * </pre>
 */
public final class MemoryScope implements AutoCloseable {
    private static final ThreadLocal<ArrayDeque<MemoryScope>> STACK = ThreadLocal.withInitial(ArrayDeque::new);

    private final Set<Tensor> owned = Collections.newSetFromMap(new IdentityHashMap<>());
    private final Thread thread = Thread.currentThread();
    private boolean closed;

    private MemoryScope() {}

    public static MemoryScope open() {
        MemoryScope s = new MemoryScope();
        STACK.get().push(s);
        return s;
    }

    /** The innermost open scope of this thread, or null. */
    public static MemoryScope current() { return STACK.get().peek(); }

    static void register(Tensor t) {
        MemoryScope s = STACK.get().peek();
        if (s != null) s.owned.add(t);
    }

    /** Moves {@code t} out of this thread's current scope into the enclosing one (or to the caller). */
    public static <T extends Tensor> T keep(T t) {
        ArrayDeque<MemoryScope> stack = STACK.get();
        for (MemoryScope s : stack) {
            if (s.owned.remove(t)) {
                MemoryScope parent = s.parent();
                if (parent != null) parent.owned.add(t);
                return t;
            }
        }
        return t;
    }

    /** Takes {@code t} out of every scope: the caller now owns it and must close it. */
    public static <T extends Tensor> T detach(T t) {
        for (MemoryScope s : STACK.get()) s.owned.remove(t);
        return t;
    }

    private MemoryScope parent() {
        boolean seen = false;
        for (MemoryScope s : STACK.get()) {
            if (seen) return s;
            if (s == this) seen = true;
        }
        return null;
    }

    /** How many tensors this scope owns now. */
    public int size() { return owned.size(); }

    @Override
    public void close() {
        if (closed) return;
        if (Thread.currentThread() != thread) throw new IllegalStateException("a memory scope must be closed on the thread that opened it");
        ArrayDeque<MemoryScope> stack = STACK.get();
        if (stack.peek() != this) throw new IllegalStateException("memory scopes must close innermost first");
        stack.pop();
        closed = true;
        List<Tensor> ts = new ArrayList<>(owned);
        owned.clear();
        for (Tensor t : ts) t.close();
    }
}
