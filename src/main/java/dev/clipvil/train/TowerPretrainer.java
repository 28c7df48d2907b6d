package dev.clipvil.train;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.clip.ImageEncoder;
import dev.clipvil.data.SyntheticScenes;
import dev.clipvil.data.VqaImages;
import dev.clipvil.nn.Init;
import dev.clipvil.nn.Linear;
import dev.clipvil.ops.Autocast;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Indexing;
import dev.clipvil.ops.Losses;
import dev.clipvil.ops.Pooling;
import dev.clipvil.ops.Reductions;
import dev.clipvil.ops.Views;
import dev.clipvil.optim.AdamW;
import dev.clipvil.optim.GradClip;
import dev.clipvil.optim.LrSchedule;
import dev.clipvil.optim.LrScheduler;
import dev.clipvil.optim.ParamGroup;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Pre-trains a CLIP image tower on object annotations before VQA fine-tuning: the stand-in, on the
 * embedded synthetic data, for the CLIP pre-training the paper starts from (which needs data that
 * cannot be downloaded here). The tower's grid is average-pooled to 2x2 and a linear head classifies
 * each quadrant (empty or one of the colour x shape pairs, {@link SyntheticScenes}) with cross-entropy;
 * AdamW (lr {@code lr}, weight decay 0.01 on matrices), 10% linear warmup then linear decay, global-norm
 * clipping at 5. Only training images are used. The head is thrown away afterwards.
 */
final class TowerPretrainer {
    /** One epoch: mean loss, accuracy on the quadrants that hold an object (training batches), seconds so far. */
    record Epoch(int epoch, double loss, double objectAccuracy, double seconds) {}

    private TowerPretrainer() {}

    /**
     * Trains {@code tower} in place for {@code epochs} over {@code images} (image id -> file) with their
     * quadrant {@code labels}; batches of {@code batch} images in an order drawn from (seed, epoch).
     * Returns the epochs run: fewer than asked when {@code stop} said so between steps.
     */
    static List<Epoch> run(ImageEncoder tower, Map<Long, Path> images, Map<Long, int[]> labels, VqaImages loader, int epochs, int batch,
                           double lr, long seed, Device device, Supplier<Autocast.Guard> precision, BooleanSupplier stop, PrintStream log)
            throws IOException {
        List<Long> ids = new ArrayList<>();
        for (Long id : images.keySet()) {
            if (!labels.containsKey(id)) throw new IllegalArgumentException("tower pre-training: image " + images.get(id) + " has no object annotation in scenes.json");
            ids.add(id);
        }
        ids.sort(null);
        if (ids.isEmpty()) throw new IllegalArgumentException("tower pre-training: no training images");
        Init init = new Init(seed ^ 0x5DEECE66DL);
        Linear head = new Linear(tower.gridChannels(), SyntheticScenes.CLASSES, true, init);
        if (!device.equals(Device.CPU)) head.to(device);
        Map<String, Tensor> params = new LinkedHashMap<>();
        tower.module().trainableParameters().forEach((k, v) -> params.put("visual." + k, v));
        head.namedParameters().forEach((k, v) -> params.put("head." + k, v));
        int perEpoch = (ids.size() + batch - 1) / batch;
        long total = (long) perEpoch * epochs;
        List<Epoch> done = new ArrayList<>();
        long t0 = System.nanoTime();
        tower.module().train();
        try (head; AdamW opt = new AdamW(ParamGroup.decayAndNoDecay("tower-pretrain", params, lr, 0.01), 0.9, 0.999, 1e-6)) {
            LrScheduler sched = new LrScheduler(opt, LrSchedule.warmupLinear(Math.round(total * 0.1), total));
            List<Tensor> all = new ArrayList<>(params.values());
            for (int e = 0; e < epochs; e++) {
                List<Long> order = shuffled(ids, seed, e);
                double lossSum = 0;
                long hits = 0, objects = 0;
                for (int s = 0; s < order.size(); s += batch) {
                    if (stop.getAsBoolean()) return done;
                    List<Long> b = order.subList(s, Math.min(order.size(), s + batch));
                    try (MemoryScope scope = MemoryScope.open()) {
                        Tensor[] px = new Tensor[b.size()];
                        long[] y = new long[b.size() * 4];
                        for (int i = 0; i < b.size(); i++) {
                            px[i] = loader.load(images.get(b.get(i)));
                            int[] l = labels.get(b.get(i));
                            for (int q = 0; q < 4; q++) y[i * 4 + q] = l[q];
                        }
                        Tensor pixels = Creation.onDevice(Indexing.stack(px, 0), device);
                        Tensor target = Creation.onDevice(Tensor.ofLongs(y, y.length), device);
                        Tensor logits, loss;
                        try (Autocast.Guard g = precision.get()) {
                            Tensor grid = Pooling.adaptiveAvgPool2d(tower.grid(pixels), 2, 2);              // [B, C, 2, 2]
                            int n = grid.shape(0), c = grid.shape(1);
                            logits = head.forward(Views.reshape(Views.permute(grid, 0, 2, 3, 1), n * 4, c)); // quadrants row-major
                            loss = Losses.crossEntropy(logits, target);
                        }
                        Autograd.backward(loss);
                        GradClip.clipGradNorm(all, 5.0);
                        opt.step();
                        sched.step();
                        opt.zeroGrad();
                        lossSum += loss.item() * b.size();
                        long[] best = Reductions.argmax(logits, 1, false).toLongArray();
                        for (int i = 0; i < y.length; i++) {
                            if (y[i] == 0) continue;
                            objects++;
                            if (best[i] == y[i]) hits++;
                        }
                    }
                }
                Epoch ep = new Epoch(e + 1, lossSum / ids.size(), objects == 0 ? 0 : 100.0 * hits / objects, (System.nanoTime() - t0) / 1e9);
                done.add(ep);
                log.printf(Locale.ROOT, "train: tower pre-training epoch %d/%d: loss %.4f, object accuracy %.2f%% (training images), %.0f s%n",
                        ep.epoch(), epochs, ep.loss(), ep.objectAccuracy(), ep.seconds());
            }
        }
        return done;
    }

    private static List<Long> shuffled(List<Long> ids, long seed, int epoch) {
        List<Long> out = new ArrayList<>(ids);
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 31L * (epoch + 1));
        for (int i = out.size() - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            Long t = out.get(i);
            out.set(i, out.get(j));
            out.set(j, t);
        }
        return out;
    }
}
