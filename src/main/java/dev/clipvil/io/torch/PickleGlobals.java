package dev.clipvil.io.torch;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The allow-list of the restricted unpickler: the only globals a checkpoint pickle may name, each
 * mapped to a Java stand-in that builds plain data. Nothing is imported or executed; any other global
 * ({@code os.system}, {@code builtins.eval}, a pickled {@code nn.Module} class, ...) is refused by name.
 *
 * <ul>
 *   <li>{@code collections.OrderedDict}: a dictionary (state dicts are OrderedDicts);</li>
 *   <li>{@code torch._utils._rebuild_tensor_v2}, {@code _rebuild_tensor}, {@code _rebuild_parameter},
 *       {@code _rebuild_parameter_with_state}: a {@link TensorRef} (a strided view of a storage);</li>
 *   <li>{@code torch.FloatStorage} and the other typed storage classes: type markers in persistent ids;</li>
 *   <li>{@code torch.jit._pickle.build_*list} and {@code restore_type_tag}: TorchScript's typed-list
 *       wrappers, which return their argument;</li>
 *   <li>any {@code __torch__.*} class: TorchScript module classes, instantiated by NEWOBJ as inert
 *       {@link ScriptObject} attribute bags.</li>
 * </ul>
 */
final class PickleGlobals {
    private PickleGlobals() {}

    /** What a GLOBAL opcode pushes. */
    sealed interface Global permits Function, ScriptClass, StorageClass {
        String qualifiedName();
    }

    /** Plain-data work that REDUCE may do with the arguments. */
    @FunctionalInterface
    interface Body {
        Object apply(PyTuple args) throws PickleException;
    }

    /** An allowed function (or OrderedDict), callable by REDUCE. */
    record Function(String qualifiedName, Body body) implements Global {
        Object call(PyTuple args) throws PickleException {
            try {
                return body.apply(args);
            } catch (PickleException e) {
                throw new PickleException(qualifiedName + ": " + e.getMessage());
            }
        }
    }

    /** A TorchScript class; NEWOBJ makes an inert instance. */
    record ScriptClass(String qualifiedName) implements Global {}

    /** A typed storage class; only ever an element of a persistent id. */
    record StorageClass(StorageType type) implements Global {
        @Override
        public String qualifiedName() { return type.qualifiedName(); }
    }

    private static final Map<String, Function> FUNCTIONS = new LinkedHashMap<>();

    static {
        add("collections", "OrderedDict", PickleGlobals::orderedDict);
        add("torch._utils", "_rebuild_tensor_v2", a -> rebuildTensor(a, 6, 7));
        add("torch._utils", "_rebuild_tensor", a -> rebuildTensor(a, 4, 4));
        add("torch._utils", "_rebuild_parameter", a -> rebuildParameter(a, 3));
        add("torch._utils", "_rebuild_parameter_with_state", a -> rebuildParameter(a, 4));
        for (String list : new String[] {"build_intlist", "build_doublelist", "build_boollist", "build_tensorlist", "build_list"}) {
            add("torch.jit._pickle", list, a -> argument(a, 1, 0));
        }
        add("torch.jit._pickle", "restore_type_tag", a -> argument(a, 2, 0));
    }

    private static void add(String module, String name, Body body) {
        String q = module + "." + name;
        FUNCTIONS.put(q, new Function(q, body));
    }

    /**
     * The stand-in for {@code module.name}, or a refusal naming the global and {@code source} (the
     * pickle being read, for the message).
     */
    static Global resolve(String module, String name, String source) throws PickleException {
        String q = module + "." + name;
        Function f = FUNCTIONS.get(q);
        if (f != null) return f;
        if ((module.equals("__torch__") || module.startsWith("__torch__.")) && isIdentifier(name)) return new ScriptClass(q);
        if (module.equals("torch")) {
            StorageType t = StorageType.parse(name);
            if (t != null) return new StorageClass(t);
        }
        throw new PickleException("refusing to load global '" + q + "' from " + source
                + ": only state-dict objects are allowed (tensors, storages, OrderedDict, TorchScript modules); nothing was executed");
    }

    private static boolean isIdentifier(String s) {
        if (s.isEmpty() || !Character.isJavaIdentifierStart(s.charAt(0))) return false;
        for (int i = 1; i < s.length(); i++) if (!Character.isJavaIdentifierPart(s.charAt(i))) return false;
        return true;
    }

    private static Object orderedDict(PyTuple args) throws PickleException {
        Map<Object, Object> m = new LinkedHashMap<>();
        if (args.size() == 0) return m;
        if (args.size() == 1 && (args.get(0) instanceof List<?> || args.get(0) instanceof PyTuple)) {
            List<?> pairs = args.get(0) instanceof PyTuple t ? t.items() : (List<?>) args.get(0);
            for (Object p : pairs) {
                if (!(p instanceof PyTuple t) || t.size() != 2) throw new PickleException("expected (key, value) pairs, got " + Py.repr(p));
                m.put(t.get(0), t.get(1));
            }
            return m;
        }
        throw new PickleException("unexpected arguments " + args);
    }

    /** {@code (storage, offset, size, stride[, requires_grad, backward_hooks[, metadata]])}. */
    private static Object rebuildTensor(PyTuple a, int min, int max) throws PickleException {
        if (a.size() < min || a.size() > max) {
            throw new PickleException("expected " + (min == max ? min : min + " to " + max) + " arguments, got " + a.size());
        }
        if (!(a.get(0) instanceof StorageRef s)) {
            throw new PickleException("argument 0 should be a storage (a persistent id), got " + Py.typeName(a.get(0)));
        }
        long offset = Py.toLong(a.get(1), "storage offset");
        long[] size = Py.toLongs(a.get(2), "size");
        long[] stride = Py.toLongs(a.get(3), "stride");
        if (a.size() > 5) checkNoHooks(a.get(5));
        return new TensorRef(s, offset, size, stride);
    }

    /** {@code (data, requires_grad, backward_hooks[, state])}: the parameter is its data. */
    private static Object rebuildParameter(PyTuple a, int n) throws PickleException {
        if (a.size() != n) throw new PickleException("expected " + n + " arguments, got " + a.size());
        if (!(a.get(0) instanceof TensorRef t)) throw new PickleException("argument 0 should be a tensor, got " + Py.typeName(a.get(0)));
        checkNoHooks(a.get(2));
        return t;
    }

    private static void checkNoHooks(Object hooks) throws PickleException {
        if (hooks == null) return;
        if (!(hooks instanceof Map<?, ?> m)) throw new PickleException("backward_hooks should be an OrderedDict, got " + Py.typeName(hooks));
        if (!m.isEmpty()) throw new PickleException("the tensor has " + m.size() + " backward hooks (functions), which cannot be loaded");
    }

    private static Object argument(PyTuple a, int n, int which) throws PickleException {
        if (a.size() != n) throw new PickleException("expected " + n + " arguments, got " + a.size());
        Object v = a.get(which);
        return v instanceof PyTuple t ? new ArrayList<>(t.items()) : v;
    }
}
