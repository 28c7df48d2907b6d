package dev.clipvil.cli;

import dev.clipvil.tensor.Device;
import dev.clipvil.train.RunDir;
import dev.clipvil.train.StopSignal;
import dev.clipvil.train.VqaTrainConfig;
import dev.clipvil.train.VqaTrainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code clipvil train}: the project's main job, CLIP-ViL fine-tuning on VQA (see {@link VqaTrainer}).
 * With no --data it trains on the embedded synthetic VQA set (generated into a cache folder on first use).
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Fine-tune a CLIP-ViL model (CLIP image tower + single-stream BERT fusion + VQA head) on VQA v2-format data.",
                "With no --data, trains on the embedded synthetic VQA dataset (made once in ~/.cache/clipvil or $CLIPVIL_CACHE).",
                "Writes RUN_DIR/run.json, checkpoint/, metrics.jsonl, curves.png, predictions-<val split>.json and summary.json.",
                "Ctrl-C saves a checkpoint before exiting; --resume RUN_DIR continues exactly where the run stopped (in the precision it started with)."})
final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--data", paramLabel = "DIR", description = "VQA v2 folder (questions/annotations JSON + <split>/COCO_<split>_<id>.jpg). Default: the synthetic set.")
    Path data;
    @Option(names = "--train-split", defaultValue = "train2014", description = "Training split (default: ${DEFAULT-VALUE}).")
    String trainSplit;
    @Option(names = "--val-split", defaultValue = "val2014", description = "Evaluation split, with annotations (default: ${DEFAULT-VALUE}).")
    String valSplit;
    @Option(names = "--grid", paramLabel = "DIR", description = "Fast mode: grid features precomputed by `clipvil extract-grid` (DIR/<split>/ per split, or DIR for all) instead of a CLIP tower.")
    Path grid;
    @Option(names = "--skip-missing", description = "Skip (and count) questions whose image is missing or unreadable instead of failing.")
    boolean skipMissing;

    @Option(names = "--clip", defaultValue = "tiny-vit", paramLabel = "MODEL",
            description = "Image tower: tiny-vit or tiny-rn (small, random init), a CLIP preset (RN50, ViT-B/32, ...; random init) or a CLIP checkpoint (.pt, .safetensors, HF folder). Default: ${DEFAULT-VALUE}.")
    String clip;
    @Option(names = "--image-size", defaultValue = "0", description = "Input side in pixels (default: the tower's own resolution).")
    int imageSize;
    @Option(names = "--backbone-optimizer", defaultValue = "auto",
            description = "adamw, sgd (the paper's choice for a pretrained CLIP, with --backbone-lr 1e-3), frozen, or auto (default): "
                    + "frozen after a tower pre-training, else adamw (the small random towers learn faster with it).")
    String backboneOptimizer;
    @Option(names = "--backbone-lr", defaultValue = "5e-4", description = "Peak learning rate of the image tower (default: ${DEFAULT-VALUE}).")
    double backboneLr;
    @Option(names = "--backbone-momentum", defaultValue = "0.9", description = "SGD momentum of the image tower (default: ${DEFAULT-VALUE}).")
    double backboneMomentum;
    @Option(names = "--backbone-weight-decay", defaultValue = "0", description = "Weight decay of the image tower (default: ${DEFAULT-VALUE}).")
    double backboneWeightDecay;

    @Option(names = "--bert", paramLabel = "DIR", description = "Initialise the fusion encoder from an HF BERT folder (config.json, weights, vocab.txt). Default: random, with a vocabulary of the training questions.")
    Path bert;
    @Option(names = "--hidden", defaultValue = "128", description = "Fusion width when trained from scratch (default: ${DEFAULT-VALUE}).")
    int hidden;
    @Option(names = "--layers", defaultValue = "4", description = "Fusion layers when trained from scratch (default: ${DEFAULT-VALUE}).")
    int layers;
    @Option(names = "--heads", defaultValue = "4", description = "Fusion attention heads when trained from scratch (default: ${DEFAULT-VALUE}).")
    int heads;
    @Option(names = "--intermediate", defaultValue = "256", description = "Fusion MLP width when trained from scratch (default: ${DEFAULT-VALUE}).")
    int intermediate;
    @Option(names = "--dropout", defaultValue = "0.0", description = "Hidden and attention dropout of a fusion encoder trained from scratch (default: ${DEFAULT-VALUE}; 0.1 slows the small model's start several-fold; a --bert folder brings its own).")
    double dropout;
    @Option(names = "--pooler-tanh", description = "Keep BERT's tanh in the pooler (the released CLIP-ViL VQA code drops it; so do we by default).")
    boolean poolerTanh;
    @Option(names = "--max-text-length", defaultValue = "20", description = "WordPiece tokens per question incl. [CLS]/[SEP] (default: ${DEFAULT-VALUE}).")
    int maxTextLength;
    @Option(names = "--sample-tokens", defaultValue = "100", description = "Grid tokens kept per image in training, 0 = all (default: ${DEFAULT-VALUE}).")
    int sampleTokens;
    @Option(names = "--grid-pool", defaultValue = "-1", paramLabel = "K",
            description = "Average-pool the tower's grid to K x K cells before the visual tokens; 0 = the whole grid. "
                    + "Default (-1): 2 for a built-in tiny tower on synthetic data (one token per quadrant of its scenes), else 0.")
    int gridPool;
    @Option(names = "--tower-pretrain-epochs", defaultValue = "-1", paramLabel = "N",
            description = "First pre-train the image tower for N epochs on the object annotations of a synthetic dataset (scenes.json of make-synthetic: "
                    + "colour and shape per quadrant), the stand-in for CLIP's pre-training; 0 = none. "
                    + "Default (-1): 20 for a built-in tiny tower on synthetic data, else 0.")
    int towerPretrainEpochs;

    @Option(names = "--epochs", defaultValue = "15", description = "Epochs (default: ${DEFAULT-VALUE}; with --resume, a new total).")
    int epochs;
    @Option(names = "--batch-size", defaultValue = "40", description = "Questions per batch; an image's questions share a batch (default: ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--grad-accum", defaultValue = "1", description = "Batches per optimizer step (default: ${DEFAULT-VALUE}).")
    int gradAccum;
    @Option(names = "--lr", defaultValue = "1e-3", description = "Peak AdamW learning rate of the fusion model (default: ${DEFAULT-VALUE}).")
    double lr;
    @Option(names = "--weight-decay", defaultValue = "0.01", description = "AdamW weight decay on matrices (default: ${DEFAULT-VALUE}).")
    double weightDecay;
    @Option(names = "--warmup-ratio", defaultValue = "0.1", description = "Fraction of the steps spent in linear warmup, then linear decay to 0 (default: ${DEFAULT-VALUE}).")
    double warmupRatio;
    @Option(names = "--clip-norm", defaultValue = "5.0", description = "Global gradient-norm clipping, 0 = off (default: ${DEFAULT-VALUE}).")
    double clipNorm;
    @Option(names = "--seed", defaultValue = "0", description = "Seed of the weights, the data order, dropout and token sampling (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--eval-batch-size", defaultValue = "100", description = "Questions per evaluation batch (default: ${DEFAULT-VALUE}).")
    int evalBatchSize;
    @Option(names = "--synthetic-train", defaultValue = "2000", description = "Synthetic training images when no --data (default: ${DEFAULT-VALUE}).")
    int syntheticTrain;
    @Option(names = "--synthetic-val", defaultValue = "500", description = "Synthetic validation images when no --data (default: ${DEFAULT-VALUE}).")
    int syntheticVal;

    @Mixin
    ComputeOptions compute;
    @Option(names = "--cuda-graphs", description = "Capture the training step in a CUDA graph once its shapes repeat and replay it (fewer launch gaps; "
            + "needs --grad-accum 1; dropout draws new masks every replay, the ones an eager step would draw; batches of another shape run eagerly; "
            + "no effect on the CPU).")
    boolean cudaGraphs;
    @Option(names = "--out", paramLabel = "RUN_DIR", description = "Run folder (new or empty). Default: runs/vqa-<date>-<time>.")
    Path out;
    @Option(names = "--resume", paramLabel = "RUN_DIR", description = "Continue a stopped run from its last checkpoint (its run.json gives the configuration).")
    Path resume;
    @Option(names = "--no-progress", description = "Do not draw progress bars.")
    boolean noProgress;

    @Override
    public Integer call() throws Exception {
        PrintWriter w = spec.commandLine().getOut();
        if (resume != null && out != null && !resume.equals(out)) {
            throw new IllegalArgumentException("--resume continues the run in its own folder; do not also give --out (" + out + ")");
        }
        Compute c = chooseCompute();
        Device dev = c.device();
        VqaTrainer.Result r;
        try (Compute.Scope switches = c.open(); StopSignal stop = StopSignal.install(Duration.ofSeconds(60), System.err)) {
            VqaTrainer.Options o = new VqaTrainer.Options(!noProgress, stop, System.err, 0, dev, cudaGraphs);
            if (resume != null) {
                boolean epochsGiven = spec.commandLine().getParseResult().hasMatchedOption("--epochs");
                r = VqaTrainer.resume(resume, epochsGiven ? epochs : 0, o);
            } else {
                Path dir = out != null ? out : Path.of("runs", "vqa-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
                r = VqaTrainer.start(config(c.precision()), dir, o);
            }
        }
        if (r.lastScore() != null) {
            w.printf(Locale.ROOT, "train: %s after %d steps (%.0f s of training): VQA accuracy %.2f (best %.2f) -> %s%n",
                    r.stopped() ? "stopped" : "done", r.steps(), r.trainSeconds(), r.lastScore().overall(), r.bestAccuracy(), r.runDir());
        } else {
            w.printf(Locale.ROOT, "train: stopped after %d steps -> %s%n", r.steps(), r.runDir());
        }
        w.flush();
        return 0;
    }

    /** The configuration of a new run in {@code precision} ("f32", "tf32" or "bf16", already resolved from auto). */
    VqaTrainConfig config(String precision) {
        if (clip.isBlank()) throw new IllegalArgumentException("--clip must not be empty");
        return new VqaTrainConfig(str(data), trainSplit, valSplit, str(grid), skipMissing, clip, imageSize, str(bert), hidden, layers, heads,
                intermediate, dropout, poolerTanh, maxTextLength, sampleTokens, epochs, batchSize, gradAccum, lr, weightDecay, warmupRatio,
                clipNorm, backboneOptimizer, backboneLr, backboneMomentum, backboneWeightDecay, seed, evalBatchSize, syntheticTrain, syntheticVal, precision,
                gridPool, towerPretrainEpochs);
    }

    private static String str(Path p) { return p == null ? null : p.toAbsolutePath().toString(); }

    /**
     * The device (cuda when usable under auto, else the CPU with a one-time notice), the precision and
     * the conv2d implementation ({@link ComputeOptions}), printed as "train: DEVICE, PRECISION". A
     * resumed run keeps the precision in its run.json, like every other setting but --epochs.
     */
    private Compute chooseCompute() throws java.io.IOException {
        String p = compute.requestedPrecision();
        PrintWriter err = spec.commandLine().getErr();
        String kept = null;
        if (resume != null) {
            kept = VqaTrainConfig.fromJson(RunDir.open(resume).config().getAsJsonObject("config")).precision();
            if (!p.equals("auto") && !p.equals(kept)) err.println("train: --precision " + p + " ignored: the resumed run trains in " + kept);
        }
        Compute c = compute.resolve("train", err, true, kept);
        if (cudaGraphs && c.device().kind() == Device.Kind.CPU) err.println("train: --cuda-graphs has no effect on the CPU (every step runs eagerly)");
        err.flush();
        return c;
    }
}
