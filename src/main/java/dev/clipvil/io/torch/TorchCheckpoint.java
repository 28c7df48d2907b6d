package dev.clipvil.io.torch;

import dev.clipvil.io.CheckpointException;
import dev.clipvil.io.CheckpointFormat;
import dev.clipvil.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads the weights of PyTorch checkpoint files without Python:
 *
 * <ul>
 *   <li>{@code torch.save} zips (the default since PyTorch 1.6): {@code <archive>/data.pkl} pickles
 *       the saved object, whose tensors point through persistent ids at the raw storage records
 *       {@code <archive>/data/<key>} (byte order from {@code <archive>/byteorder}). The object may be
 *       a state dict, or a dictionary that wraps one under {@code "state_dict"} or {@code "model"}
 *       (as training scripts save {@code {"model": ..., "optimizer": ..., "epoch": ...}}); such
 *       wrappers are unwrapped (up to four levels) while a level holds no tensors. Entries that are not tensors
 *       are left out.</li>
 *   <li>TorchScript archives ({@code torch.jit.save}, e.g. OpenAI's released CLIP {@code .pt} files):
 *       {@code data.pkl} pickles the module tree; the state dict is collected from it with the names
 *       and order of {@code model.state_dict()} (see {@link ScriptModules}).</li>
 * </ul>
 *
 * <p>The pickles are read by a restricted unpickler ({@link Unpickler}, {@link PickleGlobals}) that
 * builds only tensors, storages, dictionaries and inert TorchScript objects and refuses every other
 * global by name, so a hostile file cannot run code. Every tensor is returned contiguous and owned by
 * the caller. Faults (not a zip, no data.pkl, a truncated or corrupt record, an unsupported storage
 * type, a bad opcode, a refused global) throw {@link CheckpointException} naming the file.
 */
public final class TorchCheckpoint {
    private TorchCheckpoint() {}

    /** Whether {@code file} is a TorchScript archive ({@code code/} or {@code constants.pkl}) or a torch.save zip. */
    public static CheckpointFormat format(Path file) throws IOException {
        try (ZipArchive zip = ZipArchive.open(file)) {
            return format(zip);
        }
    }

    private static CheckpointFormat format(ZipArchive zip) {
        return zip.contains("constants.pkl") || zip.hasFolder("code") ? CheckpointFormat.TORCHSCRIPT : CheckpointFormat.TORCH_SAVE;
    }

    /** Every tensor of the state dict in {@code file}, in state-dict order; the caller closes them. */
    public static LinkedHashMap<String, Tensor> readStateDict(Path file) throws IOException {
        try (ZipArchive zip = ZipArchive.open(file)) {
            String pkl = zip.root() + "/data.pkl";
            Object root;
            try {
                root = new Unpickler(zip.read("data.pkl"), pkl, TorchCheckpoint::storageId).load();
            } catch (PickleException e) {
                throw new CheckpointException(file, e.getMessage(), e);
            }
            LinkedHashMap<String, TensorRef> refs;
            if (root instanceof ScriptObject module) refs = ScriptModules.stateDict(zip, module);
            else if (root instanceof Map<?, ?> dict) refs = tensors(file, unwrap(dict));
            else throw new CheckpointException(file, pkl + " holds a " + Py.typeName(root) + ", not a state dict or a TorchScript module");
            return build(zip, refs);
        }
    }

    /** A persistent id {@code ('storage', torch.FloatStorage, key, location, numel)}. */
    static Object storageId(Object pid) throws PickleException {
        if (!(pid instanceof PyTuple t) || t.size() < 5 || !"storage".equals(t.get(0))) {
            throw new PickleException("unsupported persistent id " + Py.repr(pid) + " (expected ('storage', type, key, location, numel))");
        }
        if (!(t.get(1) instanceof PickleGlobals.StorageClass type)) {
            throw new PickleException("persistent id " + t + " names " + Py.typeName(t.get(1)) + ", not a storage type");
        }
        return new StorageRef(type.type(), Py.toStr(t.get(2), "storage key"), String.valueOf(t.get(3)), Py.toLong(t.get(4), "storage size"));
    }

    /** Descends through {"state_dict": ...} / {"model": ...} wrappers while the level holds no tensor. */
    private static Map<?, ?> unwrap(Map<?, ?> dict) {
        for (int level = 0; level < 4 && dict.values().stream().noneMatch(v -> v instanceof TensorRef); level++) {
            Object inner = dict.get("state_dict");
            if (!(inner instanceof Map<?, ?>)) inner = dict.get("model");
            if (!(inner instanceof Map<?, ?> m)) break;
            dict = m;
        }
        return dict;
    }

    private static LinkedHashMap<String, TensorRef> tensors(Path file, Map<?, ?> dict) throws CheckpointException {
        LinkedHashMap<String, TensorRef> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            if (!(e.getValue() instanceof TensorRef t)) continue;
            if (!(e.getKey() instanceof String name)) {
                throw new CheckpointException(file, "state dict key " + Py.repr(e.getKey()) + " is a " + Py.typeName(e.getKey()) + ", not a string");
            }
            out.put(name, t);
        }
        if (out.isEmpty()) {
            throw new CheckpointException(file, "holds no tensors: data.pkl is a dict of " + dict.size() + " entries "
                    + keys(dict) + " without a state dict");
        }
        return out;
    }

    private static String keys(Map<?, ?> dict) {
        StringBuilder sb = new StringBuilder("(");
        int i = 0;
        for (Object k : dict.keySet()) {
            if (i > 0) sb.append(", ");
            if (i++ == 5) return sb.append("...)").toString();
            sb.append(Py.repr(k));
        }
        return sb.append(")").toString();
    }

    private static LinkedHashMap<String, Tensor> build(ZipArchive zip, Map<String, TensorRef> refs) throws IOException {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        try (TensorRebuilder rebuild = new TensorRebuilder(zip)) {
            for (Map.Entry<String, TensorRef> e : refs.entrySet()) out.put(e.getKey(), rebuild.build(e.getKey(), e.getValue()));
            return out;
        } catch (IOException | RuntimeException | Error e) {
            for (Tensor t : out.values()) t.close();
            throw e;
        }
    }
}
