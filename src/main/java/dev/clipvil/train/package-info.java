/**
 * Training runs. The run infrastructure that {@code clipvil train} builds on:
 * {@link dev.clipvil.train.RunDir} (the run folder: {@code run.json}, {@code checkpoint/},
 * {@code metrics.jsonl}, {@code curves.png}, copied-in files), {@link dev.clipvil.train.Checkpointer}
 * (atomic checkpoints of model, optimizers and state, recovered after a crash),
 * {@link dev.clipvil.train.TrainState} (step, data-order position, scheduler and optimizer counts, seeds),
 * {@link dev.clipvil.train.MetricsLog} (one JSON record per line, truncated on resume),
 * {@link dev.clipvil.train.CurvesPlot} (loss and accuracy chart) and
 * {@link dev.clipvil.train.StopSignal} (Ctrl-C saves before the JVM exits); plus
 * {@link dev.clipvil.train.TrainProgress} (the console progress bar) and the small shapes demo.
 */
package dev.clipvil.train;
