package dev.clipvil.io;

/** The weight-file formats that {@link Checkpoints} reads, as detected from their content. */
public enum CheckpointFormat {
    /** A single {@code .safetensors} file. */
    SAFETENSORS("safetensors"),
    /** A {@code model.safetensors.index.json} whose weight map names several safetensors shards. */
    SAFETENSORS_SHARDED("sharded safetensors"),
    /** A {@code torch.save} zip (PyTorch 1.6 and later): {@code <archive>/data.pkl} plus storage records. */
    TORCH_SAVE("torch.save zip"),
    /** A {@code torch.jit.save} archive: a pickled module tree plus {@code code/} and {@code constants.pkl}. */
    TORCHSCRIPT("TorchScript archive");

    private final String description;

    CheckpointFormat(String description) { this.description = description; }

    /** A short human name, e.g. "torch.save zip". */
    public String description() { return description; }
}
