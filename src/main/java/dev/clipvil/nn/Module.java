package dev.clipvil.nn;

import dev.clipvil.backend.Backends;
import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A node of the model tree: named parameters, buffers and child modules, in registration order, so
 * that dotted names ({@code "blocks.0.attn.in_proj_weight"}) and their order match PyTorch's
 * state-dict keys for the same structure.
 *
 * <p>A module owns its parameters and buffers: they live outside every {@link MemoryScope} (a tensor
 * registered inside one is detached from it) until {@link #close()}. Layers read them back with
 * {@link #param} / {@link #buffer} at each forward, so that {@link #to(DType)} can replace them.
 */
public abstract class Module implements AutoCloseable {
    private final LinkedHashMap<String, Tensor> params = new LinkedHashMap<>();
    private final LinkedHashMap<String, Tensor> buffers = new LinkedHashMap<>();
    private final Set<String> nonPersistent = new java.util.HashSet<>();
    private final LinkedHashMap<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;
    private boolean closed;

    // ---- registration -----------------------------------------------------------------------

    /** Registers {@code t} as parameter {@code name}: the module takes ownership and marks it as requiring grad. */
    protected Tensor registerParameter(String name, Tensor t) {
        checkName(name);
        MemoryScope.detach(t);
        t.requiresGrad(true);
        params.put(name, t);
        return t;
    }

    /** Registers a persistent buffer (part of the state dict), owned by the module, without grad. */
    protected Tensor registerBuffer(String name, Tensor t) { return registerBuffer(name, t, true); }

    /** Registers a buffer; a non-persistent one is not saved in or loaded from the state dict. */
    protected Tensor registerBuffer(String name, Tensor t, boolean persistent) {
        checkName(name);
        MemoryScope.detach(t);
        t.requiresGrad(false);
        buffers.put(name, t);
        if (!persistent) nonPersistent.add(name);
        return t;
    }

    /** Registers a child module under {@code name}. Returns it. */
    protected <M extends Module> M registerModule(String name, M m) {
        checkName(name);
        if (m == this) throw new IllegalArgumentException("a module cannot be its own child ('" + name + "')");
        children.put(name, m);
        return m;
    }

    private void checkName(String name) {
        if (name == null || name.isEmpty() || name.contains(".")) {
            throw new IllegalArgumentException("bad member name '" + name + "': it must be non-empty and contain no '.'");
        }
        if (params.containsKey(name) || buffers.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": '" + name + "' is already registered");
        }
    }

    /**
     * Makes this module's parameter {@code name} the tensor {@code shared} (weight tying, e.g. an MLM
     * decoder sharing the word embeddings): the old tensor is closed; {@code shared} stays owned by
     * the module that registered it first and appears once in {@link #namedParameters}.
     */
    public void tieParameter(String name, Tensor shared) {
        Tensor old = param(name);
        if (old == shared) return;
        if (!Arrays.equals(old.shape(), shared.shape())) {
            throw new IllegalArgumentException("tieParameter: '" + name + "' has shape " + Shapes.str(old.shape()) + ", the shared tensor " + Shapes.str(shared.shape()));
        }
        params.put(name, shared);
        old.close();
    }

    /** This module's own parameter {@code name}. */
    protected Tensor param(String name) {
        Tensor t = params.get(name);
        if (t == null) throw new IllegalArgumentException(getClass().getSimpleName() + " has no parameter '" + name + "'");
        return t;
    }

    /** This module's own parameter {@code name}, or null when it has none (e.g. a disabled bias). */
    protected Tensor paramOrNull(String name) { return params.get(name); }

    /** This module's own buffer {@code name}. */
    protected Tensor buffer(String name) {
        Tensor t = buffers.get(name);
        if (t == null) throw new IllegalArgumentException(getClass().getSimpleName() + " has no buffer '" + name + "'");
        return t;
    }

    /** This module's direct child {@code name}. */
    public Module child(String name) {
        Module m = children.get(name);
        if (m == null) throw new IllegalArgumentException(getClass().getSimpleName() + " has no child module '" + name + "' (children: " + children.keySet() + ")");
        return m;
    }

    // ---- traversal --------------------------------------------------------------------------

    /** Direct children, in registration order. */
    public Map<String, Module> namedChildren() { return Collections.unmodifiableMap(children); }

    /** This module ("") and every descendant, pre-order, keyed by dotted path; shared modules appear once. */
    public LinkedHashMap<String, Module> namedModules() {
        LinkedHashMap<String, Module> out = new LinkedHashMap<>();
        collectModules("", out, Collections.newSetFromMap(new IdentityHashMap<>()));
        return out;
    }

    private void collectModules(String prefix, Map<String, Module> out, Set<Module> seen) {
        if (!seen.add(this)) return;
        out.put(prefix, this);
        for (var e : children.entrySet()) e.getValue().collectModules(join(prefix, e.getKey()), out, seen);
    }

    /** Every parameter with its dotted name, PyTorch order; a tensor shared by several modules appears once, under its first name. */
    public LinkedHashMap<String, Tensor> namedParameters() {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (var m : namedModules().entrySet()) {
            for (var p : m.getValue().params.entrySet()) {
                if (seen.add(p.getValue())) out.put(join(m.getKey(), p.getKey()), p.getValue());
            }
        }
        return out;
    }

    /** Every buffer (persistent or not) with its dotted name. */
    public LinkedHashMap<String, Tensor> namedBuffers() {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (var m : namedModules().entrySet()) {
            for (var b : m.getValue().buffers.entrySet()) {
                if (seen.add(b.getValue())) out.put(join(m.getKey(), b.getKey()), b.getValue());
            }
        }
        return out;
    }

    /** The parameters, in {@link #namedParameters} order. */
    public List<Tensor> parameters() { return new ArrayList<>(namedParameters().values()); }

    /** Total number of parameter elements. */
    public long parameterCount() {
        long n = 0;
        for (Tensor t : namedParameters().values()) n += t.numel();
        return n;
    }

    /**
     * Parameters and persistent buffers keyed as PyTorch's {@code state_dict()}: for each module in
     * pre-order, its parameters, then its buffers. The tensors are the module's own (not copies):
     * read them, do not close them. Tied tensors appear under every name, as in PyTorch.
     */
    public LinkedHashMap<String, Tensor> stateDict() {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        collectState("", out, Collections.newSetFromMap(new IdentityHashMap<>()));
        return out;
    }

    private void collectState(String prefix, Map<String, Tensor> out, Set<Module> seen) {
        if (!seen.add(this)) return;
        for (var p : params.entrySet()) out.put(join(prefix, p.getKey()), p.getValue());
        for (var b : buffers.entrySet()) if (!nonPersistent.contains(b.getKey())) out.put(join(prefix, b.getKey()), b.getValue());
        for (var c : children.entrySet()) c.getValue().collectState(join(prefix, c.getKey()), out, seen);
    }

    private static String join(String prefix, String name) { return prefix.isEmpty() ? name : prefix + "." + name; }

    // ---- loading ----------------------------------------------------------------------------

    /** {@link #loadStateDict(Map, boolean)} in strict mode. */
    public LoadReport loadStateDict(Map<String, Tensor> sd) { return loadStateDict(sd, true); }

    /**
     * Copies {@code sd}'s values into this module's parameters and buffers, in place, converting the
     * dtype where it differs. Every key is checked first: in strict mode any missing, unexpected or
     * mis-shaped key throws a {@link StateDictException} naming all of them, and nothing is copied. In
     * lenient mode the keys whose names and shapes match are copied and the report lists the others.
     * The caller keeps ownership of {@code sd}'s tensors.
     */
    public LoadReport loadStateDict(Map<String, Tensor> sd, boolean strict) {
        LinkedHashMap<String, Tensor> own = stateDict();
        List<String> missing = new ArrayList<>(), unexpected = new ArrayList<>(), mismatched = new ArrayList<>();
        List<String> ok = new ArrayList<>();
        for (var e : own.entrySet()) {
            Tensor src = sd.get(e.getKey());
            if (src == null) {
                missing.add(e.getKey());
            } else if (!Arrays.equals(src.shape(), e.getValue().shape())) {
                mismatched.add(e.getKey() + ": expected " + Shapes.str(e.getValue().shape()) + " got " + Shapes.str(src.shape()));
            } else {
                ok.add(e.getKey());
            }
        }
        for (String k : sd.keySet()) if (!own.containsKey(k)) unexpected.add(k);
        LoadReport report = new LoadReport(List.copyOf(missing), List.copyOf(unexpected), List.copyOf(mismatched));
        if (strict && !report.isClean()) throw new StateDictException(getClass().getSimpleName(), report);
        for (String k : ok) copyInto(sd.get(k), own.get(k));
        return report;
    }

    private static void copyInto(Tensor src, Tensor dst) {
        if (src == dst) return;
        if (dst.device().kind() == Device.Kind.CPU) Backends.of(src).copy(src, dst);
        else Backends.of(dst).copy(src, dst);
    }

    // ---- modes and gradients ----------------------------------------------------------------

    /** Training mode for this module and every descendant. Returns this. */
    public Module train() { return train(true); }

    /** Sets training mode recursively. Returns this. */
    public Module train(boolean on) {
        for (Module m : namedModules().values()) m.training = on;
        return this;
    }

    /** Evaluation mode recursively. Returns this. */
    public Module eval() { return train(false); }

    public boolean isTraining() { return training; }

    /** Sets {@code requiresGrad} on every parameter of this subtree (false freezes it). Returns this. */
    public Module setRequiresGrad(boolean on) {
        for (Tensor p : namedParameters().values()) p.requiresGrad(on);
        return this;
    }

    /** Stops gradients into this subtree's parameters ({@code setRequiresGrad(false)}). */
    public Module freeze() { return setRequiresGrad(false); }

    /** Undoes {@link #freeze}. */
    public Module unfreeze() { return setRequiresGrad(true); }

    /** The parameters that require a gradient (what an optimizer should get). */
    public LinkedHashMap<String, Tensor> trainableParameters() {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        for (var e : namedParameters().entrySet()) if (e.getValue().requiresGrad()) out.put(e.getKey(), e.getValue());
        return out;
    }

    /** Frees every parameter's gradient (PyTorch's {@code zero_grad(set_to_none=True)}). */
    public void zeroGrad() {
        for (Tensor p : namedParameters().values()) p.zeroGrad();
    }

    // ---- conversion -------------------------------------------------------------------------

    /** Converts every floating parameter and buffer to {@code dtype} (tied tensors stay tied). Returns this. */
    public Module to(DType dtype) {
        if (!dtype.isFloating()) throw new IllegalArgumentException("to: parameters can only be converted to a floating dtype, got " + dtype);
        return replaceAll(t -> t.dtype().isFloating() && t.dtype() != dtype, t -> Backends.of(t).cast(t, dtype));
    }

    /** Moves every parameter and buffer to {@code device}. Returns this. */
    public Module to(Device device) {
        return replaceAll(t -> !t.device().equals(device), t -> Creation.to(t, device));
    }

    private Module replaceAll(java.util.function.Predicate<Tensor> needs, java.util.function.UnaryOperator<Tensor> convert) {
        Map<Tensor, Tensor> done = new IdentityHashMap<>();
        for (Module m : namedModules().values()) {
            m.replaceIn(m.params, needs, convert, done);
            m.replaceIn(m.buffers, needs, convert, done);
        }
        for (Tensor old : done.keySet()) old.close();
        return this;
    }

    private void replaceIn(Map<String, Tensor> map, java.util.function.Predicate<Tensor> needs,
                           java.util.function.UnaryOperator<Tensor> convert, Map<Tensor, Tensor> done) {
        for (var e : map.entrySet()) {
            Tensor old = e.getValue();
            if (!needs.test(old)) continue;
            Tensor nt = done.get(old);
            if (nt == null) {
                nt = MemoryScope.detach(convert.apply(old));
                if (old.requiresGrad()) nt.requiresGrad(true);
                done.put(old, nt);
            }
            e.setValue(nt);
        }
    }

    // ---- lifetime ---------------------------------------------------------------------------

    /** Frees every parameter, gradient and buffer of this subtree. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        for (Module m : namedModules().values()) {
            m.closed = true;
            for (Tensor t : m.params.values()) t.close();
            for (Tensor t : m.buffers.values()) t.close();
        }
    }

    /** A short tree of the modules with their parameter shapes. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        describe(sb, "", getClass().getSimpleName());
        return sb.toString();
    }

    private void describe(StringBuilder sb, String indent, String label) {
        sb.append(indent).append(label);
        if (!params.isEmpty()) {
            sb.append(" (");
            boolean first = true;
            for (var p : params.entrySet()) {
                if (!first) sb.append(", ");
                first = false;
                sb.append(p.getKey()).append(Shapes.str(p.getValue().shape()));
            }
            sb.append(')');
        }
        sb.append('\n');
        for (var c : children.entrySet()) c.getValue().describe(sb, indent + "  ", c.getKey() + ": " + c.getValue().getClass().getSimpleName());
    }
}
