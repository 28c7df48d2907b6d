/**
 * Optimizers with PyTorch's update rules ({@link dev.clipvil.optim.AdamW}, {@link dev.clipvil.optim.SGD})
 * over named {@link dev.clipvil.optim.ParamGroup}s, several of them combined by
 * {@link dev.clipvil.optim.OptimizerSet}; per-parameter state exportable by name for checkpoints;
 * learning-rate schedules and gradient-norm clipping. The updates themselves are backend primitives
 * ({@code Backend.adamwStep}, {@code sgdStep}).
 */
package dev.clipvil.optim;
