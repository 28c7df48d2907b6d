package dev.clipvil.io.torch;

/**
 * What a persistent id {@code ('storage', torch.FloatStorage, '3', 'cpu', 1232)} names: the storage
 * record {@code <archive>/data/<key>} holding {@code numel} elements of {@code type}. The data is read
 * only when a tensor is rebuilt from it.
 */
record StorageRef(StorageType type, String key, String location, long numel) {
    @Override
    public String toString() { return type + "('" + key + "', " + numel + " elements, " + location + ")"; }
}
