/**
 * The model tree: {@link dev.clipvil.nn.Module} with named parameters, buffers and children whose
 * dotted names and order follow PyTorch's state-dict keys, strict state-dict loading, train/eval
 * modes and freezing; the layers (Linear, LayerNorm, BatchNorm2d, Conv2d, Embedding, Dropout,
 * MultiheadAttention, Sequential, ModuleList, activations); and {@link dev.clipvil.nn.Init}, PyTorch's
 * default initialisers drawn from a seeded stream. Layers compose {@code dev.clipvil.ops}.
 */
package dev.clipvil.nn;
