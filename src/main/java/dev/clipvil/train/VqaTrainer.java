package dev.clipvil.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.Backends;
import dev.clipvil.autograd.GradMode;
import dev.clipvil.clip.ClipConfig;
import dev.clipvil.clip.ImageEncoders;
import dev.clipvil.data.GridFeatures;
import dev.clipvil.data.SyntheticScenes;
import dev.clipvil.data.SyntheticVqa;
import dev.clipvil.data.VqaAccuracy;
import dev.clipvil.data.VqaAnnotation;
import dev.clipvil.data.VqaAnswerVocab;
import dev.clipvil.data.VqaBatch;
import dev.clipvil.data.VqaBatches;
import dev.clipvil.data.VqaImages;
import dev.clipvil.data.VqaItem;
import dev.clipvil.data.VqaScore;
import dev.clipvil.data.VqaSplit;
import dev.clipvil.backend.cuda.CudaBackend;
import dev.clipvil.nn.Dropout;
import dev.clipvil.nn.Init;
import dev.clipvil.nn.Module;
import dev.clipvil.ops.Autocast;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.optim.AdamW;
import dev.clipvil.optim.GradClip;
import dev.clipvil.optim.LrSchedule;
import dev.clipvil.optim.LrScheduler;
import dev.clipvil.optim.Optimizer;
import dev.clipvil.optim.OptimizerState;
import dev.clipvil.optim.ParamGroup;
import dev.clipvil.optim.SGD;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.vil.BertConfig;
import dev.clipvil.vil.BertLoader;
import dev.clipvil.vil.BertTokenizer;
import dev.clipvil.vil.BertVocab;
import dev.clipvil.vil.ClipVil;
import dev.clipvil.vil.VqaHead;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code clipvil train}: fine-tunes a CLIP-ViL VQA model. The fusion model (BERT, visual tokens, VQA
 * head) gets AdamW with linear warmup and decay; the CLIP image tower gets its own optimizer (SGD as
 * in the paper, AdamW, or frozen) on the same schedule; gradients may be accumulated over several
 * batches and are clipped by global norm. Each epoch ends with an evaluation on the validation split
 * (official VQA accuracy) and an atomic checkpoint; Ctrl-C saves one too. A resumed run rebuilds the
 * same model, reloads weights, optimizer states, schedules, the data position and the dropout and
 * token-sampling counters, and continues exactly where it stopped. With precision bf16 the forward
 * passes (training and evaluation) run under BF16 autocast; weights, gradients and optimizer states stay F32.
 * With tf32 the CUDA backend's F32 GEMMs use TF32 tensor cores for the run (no effect on the CPU).
 */
public final class VqaTrainer {
    static final String VOCAB = "vocab.txt", ANSWERS = "answers.txt", SUMMARY = "summary.json", TOWER_PRETRAIN = "tower-pretrain.json";
    /** Peak AdamW learning rate of the tower pre-training (tiny towers from scratch learn the objects in ~10 epochs with it). */
    static final double TOWER_PRETRAIN_LR = 1e-3;
    static final String FUSION = "fusion", BACKBONE = "backbone";
    /** Image cache for pixel mode: enough for the synthetic set many times over; large sets stream from disk. */
    static final long IMAGE_CACHE_BYTES = 1L << 30;

    /** How a run ended: the last evaluation, steps done, and whether Ctrl-C (or a test) stopped it early. */
    public record Result(Path runDir, VqaScore lastScore, double bestAccuracy, long steps, double trainSeconds, boolean stopped) {}

    /**
     * Run-time choices that are not part of the saved configuration. {@code cudaGraphs}: capture the
     * training step in a CUDA graph once its shapes repeat and replay it ({@link GraphedStep}; no effect on the CPU).
     */
    public record Options(boolean progress, StopSignal stop, PrintStream log, long stopAfterSteps, Device device, boolean cudaGraphs) {
        public Options {
            device = device == null ? Device.CPU : device;
        }

        public Options(boolean progress, StopSignal stop, PrintStream log, long stopAfterSteps, Device device) {
            this(progress, stop, log, stopAfterSteps, device, false);
        }

        public Options(boolean progress, StopSignal stop, PrintStream log, long stopAfterSteps) {
            this(progress, stop, log, stopAfterSteps, Device.CPU);
        }
    }

    private final VqaTrainConfig c;
    private final RunDir run;
    private final Options o;
    private final PrintStream log;
    private final Gson gson = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create();

    private VqaTrainer(VqaTrainConfig c, RunDir run, Options o) {
        this.c = c;
        this.run = run;
        this.o = o;
        this.log = o.log();
    }

    /** Starts a new run in {@code out} (which must be new or empty). */
    public static Result start(VqaTrainConfig c, Path out, Options o) throws IOException {
        if (c.gridDir() == null) VqaModels.checkSpec(c.clip());
        if (c.bert() != null && !Files.isRegularFile(Path.of(c.bert()).resolve(VOCAB))) {
            throw new IllegalArgumentException("--bert " + c.bert() + " has no " + VOCAB + " (an HF BERT folder has config.json, the weights and vocab.txt)");
        }
        Path data = dataDir(c, o.log());
        c = c.resolved(SyntheticScenes.file(data) != null);
        if (c.towerPretrainEpochs() > 0 && c.gridDir() != null) {
            throw new IllegalArgumentException("--tower-pretrain-epochs needs an image tower; --grid runs on precomputed features");
        }
        if (c.towerPretrainEpochs() > 0 && SyntheticScenes.file(data) == null) {
            throw new IllegalArgumentException("--tower-pretrain-epochs " + c.towerPretrainEpochs() + ": " + data.resolve(SyntheticVqa.SCENES)
                    + " not found; tower pre-training needs the object annotations of a `clipvil make-synthetic` dataset");
        }
        VqaSplit train = VqaSplit.load(data, c.trainSplit(), null, true);
        VqaSplit val = VqaSplit.load(data, c.valSplit(), null, true);
        VqaAnswerVocab answers = VqaAnswerVocab.fromAnnotations(train.annotations());
        if (answers.size() == 0) throw new IllegalArgumentException(data + ": no answer occurs " + VqaAnswerVocab.DEFAULT_MIN_COUNT
                + " times in " + c.trainSplit() + "; there is nothing to train");
        JsonObject runJson = new JsonObject();
        runJson.addProperty("kind", "clipvil-vqa");
        runJson.add("config", c.toJson());
        runJson.addProperty("data_dir", data.toAbsolutePath().toString());
        JsonArray a = new JsonArray();
        for (String s : answers.answers()) a.add(s);
        runJson.add("answers", a);
        // the rest of run.json (model configs) is known once the model is built; RunDir keeps what we give it now
        Path staged = Files.createTempDirectory("clipvil-run-");
        try {
            List<String> vocabLines;
            if (c.bert() != null) {
                vocabLines = new ArrayList<>(Files.readAllLines(Path.of(c.bert()).resolve(VOCAB), StandardCharsets.UTF_8));
                while (!vocabLines.isEmpty() && vocabLines.get(vocabLines.size() - 1).isBlank()) vocabLines.remove(vocabLines.size() - 1);
            } else {
                List<String> texts = new ArrayList<>();
                for (VqaItem it : train.items()) texts.add(it.question());
                vocabLines = BertVocab.fromTexts(texts, 1);
            }
            Files.write(staged.resolve(VOCAB), vocabLines, StandardCharsets.UTF_8);
            Files.write(staged.resolve(ANSWERS), answers.answers(), StandardCharsets.UTF_8);
            Built b = buildModel(c, vocabLines.size(), answers.size());
            runJson.add("clip_config", b.clipConfig == null ? null : new Gson().toJsonTree(b.clipConfig));
            runJson.add("bert_config", new Gson().toJsonTree(b.bertConfig));
            runJson.addProperty("grid_channels", b.gridChannels);
            runJson.addProperty("image_size", b.imageSize);
            runJson.addProperty("backbone_source", b.source);
            RunDir run;
            try {
                run = RunDir.create(out, runJson);
                run.copyIn(staged.resolve(VOCAB), VOCAB);
                run.copyIn(staged.resolve(ANSWERS), ANSWERS);
            } catch (IOException | RuntimeException e) {
                b.model.close();
                throw e;
            }
            try (ClipVil model = b.model) {
                return new VqaTrainer(c, run, o).train(model, train, val, answers, null);
            }
        } finally {
            AtomicFiles.deleteRecursively(staged);
        }
    }

    /** Continues the run in {@code dir} from its last checkpoint; {@code epochs} > 0 extends (or shortens) it. */
    public static Result resume(Path dir, int epochs, Options o) throws IOException {
        RunDir run = RunDir.resume(dir);
        JsonObject rj = run.config();
        VqaTrainConfig c = VqaTrainConfig.fromJson(rj.getAsJsonObject("config"));
        if (epochs > 0) c = c.withEpochs(epochs);
        Path data = Path.of(rj.get("data_dir").getAsString());
        if (c.data() == null && !Files.isDirectory(data)) data = dataDir(c, o.log()); // the synthetic cache was cleared: make it again
        VqaSplit train = VqaSplit.load(data, c.trainSplit(), null, true);
        VqaSplit val = VqaSplit.load(data, c.valSplit(), null, true);
        List<String> answers = new ArrayList<>();
        for (JsonElement e : rj.getAsJsonArray("answers")) answers.add(e.getAsString());
        VqaAnswerVocab vocab = new VqaAnswerVocab(answers);
        Built b = rebuild(rj, c, run);
        try (ClipVil model = b.model; Checkpoint ck = run.checkpointer().load()) {
            model.loadStateDict(ck.model());
            return new VqaTrainer(c, run, o).train(model, train, val, vocab, ck);
        }
    }

    /** The model of a saved run, random weights (the caller loads the checkpoint's). */
    static Built rebuild(JsonObject rj, VqaTrainConfig c, RunDir run) throws IOException {
        Gson g = new Gson();
        BertConfig bert = g.fromJson(rj.get("bert_config"), BertConfig.class);
        JsonElement cc = rj.get("clip_config");
        ClipConfig clip = cc == null || cc.isJsonNull() ? null : g.fromJson(cc, ClipConfig.class);
        int answers = rj.getAsJsonArray("answers").size();
        Init init = new Init(c.seed());
        ClipVil m = clip == null
                ? VqaModels.build(c, bert, null, rj.get("grid_channels").getAsInt(), answers, init)
                : VqaModels.build(c, bert, ImageEncoders.create(clip, init), 0, answers, init);
        return new Built(m, clip, bert, rj.get("grid_channels").getAsInt(), rj.get("image_size").getAsInt(),
                rj.has("backbone_source") ? rj.get("backbone_source").getAsString() : "");
    }

    record Built(ClipVil model, ClipConfig clipConfig, BertConfig bertConfig, int gridChannels, int imageSize, String source) {}

    private static Built buildModel(VqaTrainConfig c, int vocabSize, int numAnswers) throws IOException {
        Init init = new Init(c.seed());
        BertConfig bert = c.bert() == null ? VqaModels.randomBert(c, vocabSize) : BertLoader.config(Path.of(c.bert()));
        if (bert.vocabSize() != vocabSize) {
            throw new IllegalArgumentException(c.bert() + ": config.json says vocab_size " + bert.vocabSize() + " but vocab.txt has " + vocabSize + " lines");
        }
        ClipVil m;
        ClipConfig clipConfig = null;
        int channels, size;
        String source;
        if (c.gridDir() != null) {
            try (GridFeatures g = GridFeatures.open(gridFolder(c, c.trainSplit()))) {
                if (g.size() == 0) throw new IllegalArgumentException(g.indexFile() + " lists no images");
                String first = g.names().get(0);
                channels = g.get(first).shape(0);
                size = g.imageSize()[0];
            }
            m = VqaModels.build(c, bert, null, channels, numAnswers, init);
            source = "grid features " + c.gridDir();
        } else {
            VqaModels.Backbone bb = VqaModels.backbone(c.clip(), init);
            clipConfig = bb.config();
            channels = bb.encoder().gridChannels();
            size = c.imageSize() > 0 ? c.imageSize() : bb.encoder().inputResolution();
            m = VqaModels.build(c, bert, bb.encoder(), 0, numAnswers, init);
            source = bb.source();
        }
        if (c.bert() != null) BertLoader.loadWeights(Path.of(c.bert()), m.bert(), null);
        return new Built(m, clipConfig, bert, channels, size, source);
    }

    /**
     * Where a split's precomputed grids are: {@code GRID_DIR/<split>} when that folder exists (one
     * {@code extract-grid} run per image folder), else {@code GRID_DIR} itself (all images in one run).
     */
    static Path gridFolder(VqaTrainConfig c, String split) {
        Path root = Path.of(c.gridDir()), sub = root.resolve(split);
        return Files.isDirectory(sub) ? sub : root;
    }

    /** The dataset folder: the given one, or the synthetic dataset in the cache (made on first use). */
    static Path dataDir(VqaTrainConfig c, PrintStream log) throws IOException {
        if (c.data() != null) return Path.of(c.data());
        return SyntheticCache.ensure(c.syntheticTrain(), c.syntheticVal(), log);
    }

    private Result train(ClipVil model, VqaSplit trainSplit, VqaSplit valSplit, VqaAnswerVocab answers, Checkpoint ck) throws IOException {
        Path data = trainSplit.dataDir();
        if (!o.device().equals(Device.CPU)) model.to(o.device());
        JsonObject rj = run.config();
        int imageSize = rj.get("image_size").getAsInt();
        BertTokenizer tok = BertTokenizer.load(run.file(VOCAB), true);
        boolean gridMode = c.gridDir() != null;
        boolean frozen = c.backboneOptimizer().equals("frozen");
        if (frozen && model.backbone() != null) model.backbone().module().freeze();

        GridFeatures grids = gridMode ? GridFeatures.open(gridFolder(c, c.trainSplit())) : null;
        GridFeatures valGrids = !gridMode ? null : gridFolder(c, c.valSplit()).equals(gridFolder(c, c.trainSplit())) ? grids
                : GridFeatures.open(gridFolder(c, c.valSplit()));
        VqaImages images = gridMode ? null : new VqaImages(imageSize, IMAGE_CACHE_BYTES, c.skipMissing());
        boolean tf32Before = CudaBackend.tf32Allowed();
        if (c.tf32()) CudaBackend.allowTf32(true);                 // process-wide switch, put back when the run ends
        try {
            long t0 = System.nanoTime();
            List<VqaItem> trainItems = gridMode ? grids.scan(trainSplit.items(), c.skipMissing()) : images.scan(trainSplit.items(), threads());
            List<VqaItem> valItems = gridMode ? valGrids.scan(valSplit.items(), c.skipMissing()) : images.scan(valSplit.items(), threads());
            int skipped = gridMode ? grids.skipped() + (valGrids == grids ? 0 : valGrids.skipped()) : images.skipped();
            log.printf(Locale.ROOT, "train: %s: %d train / %d %s questions (%d / %d images) in %.1f s%s%n", data, trainItems.size(), valItems.size(),
                    c.valSplit(), trainSplit.imageIds().size(), valSplit.imageIds().size(), (System.nanoTime() - t0) / 1e9,
                    skipped == 0 ? "" : ", skipped " + skipped + " questions with missing or unreadable images: "
                            + (gridMode ? grids.skippedExamples() : images.skippedExamples()));
            if (trainItems.isEmpty()) throw new IllegalArgumentException(data + ": no training question is left after skipping missing images");
            VqaBatches trainBatches = new VqaBatches(trainItems, tok, c.maxTextLength(), answers, c.batchSize(), c.seed(), images, grids);
            VqaBatches valBatches = new VqaBatches(valItems, tok, c.maxTextLength(), answers, c.evalBatchSize(), c.seed(), images, valGrids);
            Map<Long, VqaAnnotation> valAnnotations = new HashMap<>();
            for (VqaAnnotation a : valSplit.annotations()) valAnnotations.put(a.questionId(), a);

            if (ck == null && c.towerPretrainEpochs() > 0) pretrainTower(model, data, trainItems, images, frozen);

            Map<String, Tensor>[] parts = VqaModels.split(model);
            AdamW fusion = new AdamW(ParamGroup.decayAndNoDecay(FUSION, parts[0], c.lr(), c.weightDecay()), 0.9, 0.999, 1e-6);
            Optimizer backbone = parts[1].isEmpty() ? null : c.backboneOptimizer().equals("adamw")
                    ? new AdamW(ParamGroup.decayAndNoDecay(BACKBONE, parts[1], c.backboneLr(), c.backboneWeightDecay()), 0.9, 0.999, 1e-6)
                    : new SGD(List.of(new ParamGroup(BACKBONE, parts[1], c.backboneLr(), c.backboneWeightDecay())), c.backboneMomentum(), 0, false);
            try (fusion; AutoCloseable bc = backbone == null ? () -> {} : backbone) {
                long total = 0;
                for (int e = 0; e < c.epochs(); e++) total += (trainBatches.batches(e) + c.gradAccum() - 1) / c.gradAccum();
                long warmup = Math.round(total * c.warmupRatio());
                Map<String, LrScheduler> schedulers = new LinkedHashMap<>();
                schedulers.put(FUSION, new LrScheduler(fusion, LrSchedule.warmupLinear(warmup, total)));
                if (backbone != null) schedulers.put(BACKBONE, new LrScheduler(backbone, LrSchedule.warmupLinear(warmup, total)));
                TrainState st = TrainState.start(c.seed());
                if (ck != null) {
                    st = ck.trainState();
                    OptimizerState fs = ck.optimizers().get(FUSION);
                    if (fs != null) fusion.loadState(fs);
                    if (backbone != null && ck.optimizers().containsKey(BACKBONE)) backbone.loadState(ck.optimizers().get(BACKBONE));
                    st.restoreSchedulers(schedulers);
                    restoreCounters(model, st.rng());
                    log.printf(Locale.ROOT, "train: resuming %s at step %d (epoch %d, batch %d)%n", run.dir(), st.step(), st.epoch() + 1, st.batch());
                }
                log.printf(Locale.ROOT, "train: %s; fusion BERT %d layers x %d, %d answers; %,d parameters (%,d in the backbone, %s); %d optimizer steps, warmup %d%n",
                        rj.get("backbone_source").getAsString(), model.bert().config().numLayers(), model.bert().config().hiddenSize(), answers.size(),
                        model.parameterCount(), model.backbone() == null ? 0 : model.backbone().module().parameterCount(),
                        model.backbone() == null ? "precomputed grids" : c.backboneOptimizer(), total, warmup);
                return loop(model, fusion, backbone, schedulers, trainBatches, valBatches, answers.answers(), valAnnotations, st, total);
            }
        } catch (Exception e) {
            if (e instanceof IOException io) throw io;
            if (e instanceof RuntimeException re) throw re;
            throw new IOException(e);
        } finally {
            CudaBackend.allowTf32(tf32Before);
            if (valGrids != null && valGrids != grids) valGrids.close();
            if (grids != null) grids.close();
        }
    }

    private Result loop(ClipVil model, AdamW fusion, Optimizer backbone, Map<String, LrScheduler> schedulers,
                        VqaBatches trainBatches, VqaBatches valBatches, List<String> answers, Map<Long, VqaAnnotation> valAnnotations,
                        TrainState st, long totalSteps) throws IOException {
        long step = st.step();
        double wall = st.wallSeconds();
        double best = st.bestAccuracy();
        VqaScore last = null;
        boolean frozenBackbone = model.backbone() != null && model.backbone().module().trainableParameters().isEmpty();
        List<Tensor> params = new ArrayList<>(model.trainableParameters().values());
        boolean graphs = o.cudaGraphs() && o.device().kind() == Device.Kind.CUDA;
        if (graphs) GraphedStep.requireCapturable(c);
        try (GraphedStep graphed = graphs ? new GraphedStep(o.device(), log, () -> {
                fusion.step();
                if (backbone != null) backbone.step();
            }) : null;
             MetricsLog metrics = st.step() == 0 && st.epoch() == 0 && st.batch() == 0 && !Files.exists(run.metricsFile())
                ? MetricsLog.create(run.metricsFile()) : MetricsLog.resume(run.metricsFile(), st.step());
             TrainProgress bar = new TrainProgress("train", totalSteps, o.progress(), log)) {
            bar.stepTo(step);
            double ema = Double.NaN;
            for (int epoch = st.epoch(); epoch < c.epochs(); epoch++) {
                int nb = trainBatches.batches(epoch);
                int b = epoch == st.epoch() ? (int) st.batch() : 0;
                model.train();
                if (frozenBackbone) model.backbone().module().eval();
                long epochStart = System.nanoTime();
                long examples = 0;
                while (b < nb) {
                    long t = System.nanoTime();
                    int micro = Math.min(c.gradAccum(), nb - b);
                    double loss = 0;
                    int questions = 0;
                    Map<String, Double> lrs = new LinkedHashMap<>();
                    lrs.put(FUSION, fusion.groups().get(0).lr());
                    if (backbone != null) lrs.put(BACKBONE, backbone.groups().get(0).lr());
                    if (graphed != null) {
                        // zero grads, forward, backward, clipping on the device and the optimizer updates: one graph replay
                        try (VqaBatch batch = onDevice(trainBatches.batch(epoch, b), o.device())) {
                            loss = graphed.step(batch, (on, lossOut) -> {
                                fusion.zeroGrad();
                                if (backbone != null) backbone.zeroGrad();
                                model.zeroGrad();
                                try (MemoryScope scope = MemoryScope.open()) {
                                    Tensor l;
                                    try (Autocast.Guard ac = autocast()) {
                                        l = VqaHead.loss(forward(model, on, frozenBackbone), on.targets());
                                    }
                                    Autograd.backward(l);
                                    Backends.of(l).copy(l, lossOut);
                                    if (c.clipNorm() > 0) {
                                        Tensor norm = GradClip.clipGradNormOnDevice(params, c.clipNorm());
                                        if (norm != null) norm.close();
                                    }
                                }
                            });
                            questions = batch.size();
                        }
                        micro = 1;
                    }
                    for (int k = 0; k < micro && graphed == null; k++) {
                        try (VqaBatch batch = onDevice(trainBatches.batch(epoch, b + k), o.device()); MemoryScope scope = MemoryScope.open()) {
                            Tensor l;
                            try (Autocast.Guard ac = autocast()) {
                                l = VqaHead.loss(forward(model, batch, frozenBackbone), batch.targets());
                            }
                            Autograd.backward(micro == 1 ? l : Elementwise.mul(l, 1.0 / micro));
                            loss += l.item() / micro;
                            questions += batch.size();
                        }
                    }
                    if (graphed == null) {
                        if (c.clipNorm() > 0) GradClip.clipGradNorm(params, c.clipNorm());
                        fusion.step();
                        if (backbone != null) backbone.step();
                    }
                    for (LrScheduler s : schedulers.values()) s.step();
                    if (graphed == null) {
                        fusion.zeroGrad();
                        if (backbone != null) backbone.zeroGrad();
                        model.zeroGrad();
                    }
                    b += micro;
                    step++;
                    examples += questions;
                    double dt = (System.nanoTime() - t) / 1e9;
                    wall += dt;
                    double qps = examples / Math.max(1e-9, (System.nanoTime() - epochStart) / 1e9);
                    ema = Double.isNaN(ema) ? loss : 0.98 * ema + 0.02 * loss;
                    metrics.log(new MetricsLog.Train(step, epoch + 1, loss, lrs, qps, examples, wall));
                    bar.step(String.format(Locale.ROOT, "ep %d/%d loss %.4f %.0f q/s", epoch + 1, c.epochs(), ema, qps));
                    // a stop on an epoch's last batch lets the epoch's evaluation and checkpoint happen first (below)
                    if (stopRequested(step) && b < nb) return stopped(model, fusion, backbone, schedulers, st, step, epoch, b, last, best, wall);
                }
                last = evaluate(model, valBatches, answers, valAnnotations);
                best = Double.isNaN(best) ? last.overall() : Math.max(best, last.overall());
                metrics.log(MetricsLog.Eval.of(step, epoch + 1, last, wall));
                log.printf(Locale.ROOT, "%ntrain: epoch %d/%d: VQA accuracy %.2f on %s (%s), %.0f s of training so far%n", epoch + 1, c.epochs(),
                        last.overall(), c.valSplit(), typeSummary(last), wall);
                save(model, fusion, backbone, schedulers, st, step, epoch + 1, 0, best, wall);
                CurvesPlot.write(run.metricsFile(), run.curvesFile(), "clipvil train: " + run.dir().getFileName());
                if (stopRequested(step) && epoch + 1 < c.epochs()) {
                    return stopped(model, fusion, backbone, schedulers, st, step, epoch + 1, 0, last, best, wall);
                }
            }
        }
        if (last == null) last = evaluate(model, valBatches, answers, valAnnotations);
        writeSummary(last, best, step, wall);
        if (o.stop() != null) o.stop().acknowledge();
        return new Result(run.dir(), last, best, step, wall, false);
    }

    /**
     * Stage 1 of a synthetic run: the tower learns the objects of the training images ({@link TowerPretrainer})
     * before the fusion sees it; the epochs are logged and written to tower-pretrain.json. A stop request
     * here ends the run before its first checkpoint (there is nothing to resume yet).
     */
    private void pretrainTower(ClipVil model, Path data, List<VqaItem> trainItems, VqaImages images, boolean frozen) throws IOException {
        Map<Long, Path> files = new LinkedHashMap<>();
        for (VqaItem it : trainItems) files.putIfAbsent(it.imageId(), it.image());
        Map<Long, int[]> labels = SyntheticScenes.quadrantLabels(data, c.trainSplit());
        log.printf(Locale.ROOT, "train: pre-training the image tower on the object annotations of %d training images (%d epochs)%n",
                files.size(), c.towerPretrainEpochs());
        model.backbone().module().unfreeze();
        List<TowerPretrainer.Epoch> epochs = TowerPretrainer.run(model.backbone(), files, labels, images, c.towerPretrainEpochs(), c.batchSize(),
                TOWER_PRETRAIN_LR, c.seed(), o.device(), this::autocast, () -> stopRequested(0), log);
        if (frozen) model.backbone().module().freeze();
        JsonArray a = new JsonArray();
        for (TowerPretrainer.Epoch e : epochs) {
            JsonObject j = new JsonObject();
            j.addProperty("epoch", e.epoch());
            j.addProperty("loss", e.loss());
            j.addProperty("object_accuracy", e.objectAccuracy());
            j.addProperty("elapsed_s", e.seconds());
            a.add(j);
        }
        AtomicFiles.replace(run.file(TOWER_PRETRAIN), new GsonBuilder().setPrettyPrinting().create().toJson(a));
        if (epochs.size() < c.towerPretrainEpochs()) {
            if (o.stop() != null) o.stop().acknowledge();
            throw new RunException(run.dir(), "stopped during the tower pre-training, before the first checkpoint: nothing to resume (start the run again)");
        }
    }

    /** {@code b} with its tensors on {@code device} (itself on the CPU); the host tensors are closed. */
    static VqaBatch onDevice(VqaBatch b, Device device) {
        if (device.equals(Device.CPU)) return b;
        return new VqaBatch(b.epoch(), b.index(), mv(b.inputIds(), device), mv(b.tokenTypeIds(), device), mv(b.attentionMask(), device),
                mv(b.pixels(), device), mv(b.grid(), device), mv(b.imageOfQuestion(), device), mv(b.targets(), device), b.items(), b.imageIds());
    }

    private static Tensor mv(Tensor t, Device d) {
        return t == null ? null : MemoryScope.detach(dev.clipvil.ops.Creation.onDevice(t, d));
    }

    private boolean stopRequested(long step) {
        return o.stop() != null && o.stop().stopRequested() || o.stopAfterSteps() > 0 && step >= o.stopAfterSteps();
    }

    /** Saves the position (epoch, next batch) and ends the run early; the stop signal is acknowledged last. */
    private Result stopped(ClipVil model, AdamW fusion, Optimizer backbone, Map<String, LrScheduler> schedulers, TrainState st, long step,
                           int epoch, int batch, VqaScore last, double best, double wall) throws IOException {
        save(model, fusion, backbone, schedulers, st, step, epoch, batch, best, wall);
        log.printf(Locale.ROOT, "%ntrain: stopped at step %d; checkpoint saved in %s (continue with --resume %s)%n",
                step, run.checkpointDir(), run.dir());
        if (o.stop() != null) o.stop().acknowledge();
        return new Result(run.dir(), last, best, step, wall, true);
    }

    /** Logits of a batch: end to end from pixels, through a frozen tower without gradients, or from precomputed grids. */
    static Tensor forward(ClipVil model, VqaBatch batch, boolean frozenBackbone) {
        if (batch.grid() != null || frozenBackbone) {
            Tensor grid = batch.grid();
            if (grid == null) {
                try (GradMode.Guard g = GradMode.noGrad()) {
                    grid = model.backbone().grid(batch.pixels());
                }
            }
            grid = dev.clipvil.ops.Indexing.indexSelect(grid, 0, batch.imageOfQuestion());
            return model.forward(batch.inputIds(), batch.tokenTypeIds(), batch.attentionMask(), grid);
        }
        return model.forwardImages(batch.inputIds(), batch.tokenTypeIds(), batch.attentionMask(), batch.pixels(), batch.imageOfQuestion());
    }

    /** The run's precision policy for a forward pass: BF16 autocast, or F32 as it is (backward follows what the forward recorded). */
    private Autocast.Guard autocast() { return c.bf16() ? Autocast.bf16() : Autocast.f32(); }

    /** Official VQA accuracy of the model on the eval batches; writes the predictions in the official format. */
    private VqaScore evaluate(ClipVil model, VqaBatches val, List<String> answers, Map<Long, VqaAnnotation> annotations) throws IOException {
        Map<Long, String> predictions;
        try (Autocast.Guard ac = autocast()) {
            predictions = VqaPredict.predictAll(model, val, answers, o.progress() ? log : null);
        }
        model.train();
        Path file = run.file("predictions-" + c.valSplit() + ".json");
        VqaPredict.writePredictions(predictions, file);
        return VqaAccuracy.evaluate(annotations, predictions, file);
    }

    private static String typeSummary(VqaScore s) {
        StringBuilder sb = new StringBuilder();
        for (var e : s.perAnswerType().entrySet()) {
            if (sb.length() > 0) sb.append(", ");
            sb.append(e.getKey()).append(' ').append(String.format(Locale.ROOT, "%.2f", e.getValue()));
        }
        return sb.toString();
    }

    private void save(ClipVil model, AdamW fusion, Optimizer backbone, Map<String, LrScheduler> schedulers, TrainState st,
                      long step, int epoch, int batch, double best, double wall) throws IOException {
        Map<String, OptimizerState> opts = new LinkedHashMap<>();
        opts.put(FUSION, fusion.state());
        if (backbone != null) opts.put(BACKBONE, backbone.state());
        Map<String, Long> optSteps = new LinkedHashMap<>();
        for (String k : schedulers.keySet()) optSteps.put(k, step);
        TrainState s = st.at(step, epoch, batch).withCounts(TrainState.stepsOf(schedulers), optSteps)
                .withRng(counters(model)).withProgress(best, wall, null);
        run.checkpointer().save(model.stateDict(), opts, s.toJson());
    }

    /** Every dropout's and the token sampler's call counter, by module name, so a resumed run draws the same masks. */
    static Map<String, Long> counters(Module model) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (var e : model.namedModules().entrySet()) {
            if (e.getValue() instanceof Dropout d) m.put("dropout:" + e.getKey(), d.calls());
        }
        if (model instanceof ClipVil cv) m.put("visual_tokens:calls", cv.visualTokens().calls());
        return m;
    }

    static void restoreCounters(Module model, Map<String, Long> rng) {
        for (var e : model.namedModules().entrySet()) {
            if (e.getValue() instanceof Dropout d && rng.containsKey("dropout:" + e.getKey())) d.setCalls(rng.get("dropout:" + e.getKey()));
        }
        if (model instanceof ClipVil cv && rng.containsKey("visual_tokens:calls")) cv.visualTokens().setCalls(rng.get("visual_tokens:calls"));
    }

    private void writeSummary(VqaScore last, double best, long steps, double wall) throws IOException {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("val_split", c.valSplit());
        s.put("accuracy", last.overall());
        s.put("accuracy_by_answer_type", last.perAnswerType());
        s.put("accuracy_by_question_type", last.perQuestionType());
        s.put("questions", last.count());
        s.put("best_accuracy", best);
        s.put("steps", steps);
        s.put("train_seconds", wall);
        AtomicFiles.replace(run.file(SUMMARY), gson.toJson(s));
    }

    private static int threads() { return Math.max(1, Runtime.getRuntime().availableProcessors()); }
}
