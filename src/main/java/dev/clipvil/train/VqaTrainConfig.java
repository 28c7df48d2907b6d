package dev.clipvil.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;

import java.util.Locale;
import java.util.Set;

/**
 * Everything {@code clipvil train} needs to build, train and evaluate a CLIP-ViL VQA model, as saved
 * in run.json (so --resume and predict rebuild the same model). Paths are strings so the record
 * round-trips through JSON unchanged. {@code data} null means the embedded synthetic dataset;
 * {@code bert} null means a fusion BERT of {@code hidden}/{@code layers}/... trained from scratch with
 * a whole-word vocabulary of the training questions; {@code clip} is a built-in tower name
 * ({@link VqaModels#TOWERS}), a CLIP preset name (random weights) or a CLIP checkpoint.
 * {@code precision} is "f32", "tf32" or "bf16" (BF16 autocast); absent (older run.json files) means "f32".
 * {@code gridPool} pools the tower's grid to k x k before the visual tokens (0: whole grid);
 * {@code towerPretrainEpochs} pre-trains the tower on a synthetic dataset's object annotations first
 * ({@link TowerPretrainer}); -1 in either (and "auto" as the backbone optimizer) is decided by
 * {@link #resolved} before run.json is written; absent (older run.json files) means 0.
 */
public record VqaTrainConfig(
        String data, String trainSplit, String valSplit, String gridDir, boolean skipMissing,
        String clip, int imageSize,
        String bert, int hidden, int layers, int heads, int intermediate, double dropout, boolean poolerTanh,
        int maxTextLength, int sampleTokens,
        int epochs, int batchSize, int gradAccum,
        double lr, double weightDecay, double warmupRatio, double clipNorm,
        String backboneOptimizer, double backboneLr, double backboneMomentum, double backboneWeightDecay,
        long seed, int evalBatchSize, int syntheticTrain, int syntheticVal, String precision,
        int gridPool, int towerPretrainEpochs) {

    /** Value of --backbone-optimizer, and -1 of --grid-pool / --tower-pretrain-epochs, that {@link #resolved} decides. */
    public static final String AUTO = "auto";
    public static final Set<String> BACKBONE_OPTIMIZERS = Set.of("sgd", "adamw", "frozen", AUTO);
    /** Tower pre-training epochs and grid pool that {@link #resolved} picks for a built-in tower on a synthetic dataset. */
    public static final int AUTO_PRETRAIN_EPOCHS = 20, AUTO_GRID_POOL = 2;
    /**
     * Training precisions: plain F32; TF32 (F32 data, the CUDA backend's F32 GEMMs on TF32 tensor cores,
     * about 1e-3 relative error; the same as f32 on the CPU); or BF16 autocast ({@link dev.clipvil.ops.Autocast})
     * with F32 master weights.
     */
    public static final Set<String> PRECISIONS = Set.of("f32", "tf32", "bf16");

    /** A run in F32 over the whole grid with no tower pre-training (the configuration before those options existed). */
    public VqaTrainConfig(String data, String trainSplit, String valSplit, String gridDir, boolean skipMissing, String clip, int imageSize,
                          String bert, int hidden, int layers, int heads, int intermediate, double dropout, boolean poolerTanh,
                          int maxTextLength, int sampleTokens, int epochs, int batchSize, int gradAccum,
                          double lr, double weightDecay, double warmupRatio, double clipNorm,
                          String backboneOptimizer, double backboneLr, double backboneMomentum, double backboneWeightDecay,
                          long seed, int evalBatchSize, int syntheticTrain, int syntheticVal) {
        this(data, trainSplit, valSplit, gridDir, skipMissing, clip, imageSize, bert, hidden, layers, heads, intermediate, dropout, poolerTanh,
                maxTextLength, sampleTokens, epochs, batchSize, gradAccum, lr, weightDecay, warmupRatio, clipNorm,
                backboneOptimizer, backboneLr, backboneMomentum, backboneWeightDecay, seed, evalBatchSize, syntheticTrain, syntheticVal, "f32", 0, 0);
    }

    public VqaTrainConfig {
        trainSplit = trainSplit == null ? "train2014" : trainSplit;
        valSplit = valSplit == null ? "val2014" : valSplit;
        backboneOptimizer = backboneOptimizer == null ? "sgd" : backboneOptimizer.toLowerCase(Locale.ROOT);
        if (!BACKBONE_OPTIMIZERS.contains(backboneOptimizer)) {
            throw new IllegalArgumentException("--backbone-optimizer must be one of sgd, adamw, frozen, auto, got '" + backboneOptimizer + "'");
        }
        if (gridPool < -1) throw new IllegalArgumentException("--grid-pool must be >= 0 (0 = the whole grid), got " + gridPool);
        if (towerPretrainEpochs < -1) throw new IllegalArgumentException("--tower-pretrain-epochs must be >= 0, got " + towerPretrainEpochs);
        precision = precision == null ? "f32" : precision.toLowerCase(Locale.ROOT); // run.json files from before --precision trained in F32
        if (!PRECISIONS.contains(precision)) throw new IllegalArgumentException("--precision must be bf16, tf32 or f32, got '" + precision + "'");
        positive("--epochs", epochs);
        positive("--batch-size", batchSize);
        positive("--grad-accum", gradAccum);
        positive("--max-text-length", maxTextLength);
        positive("--eval-batch-size", evalBatchSize);
        if (maxTextLength < 3) throw new IllegalArgumentException("--max-text-length must be >= 3 ([CLS] word [SEP]), got " + maxTextLength);
        if (sampleTokens < 0) throw new IllegalArgumentException("--sample-tokens must be >= 0 (0 keeps all), got " + sampleTokens);
        if (imageSize < 0) throw new IllegalArgumentException("--image-size must be >= 0 (0 = the tower's own), got " + imageSize);
        if (!(lr > 0)) throw new IllegalArgumentException("--lr must be > 0, got " + lr);
        if (!(backboneLr >= 0)) throw new IllegalArgumentException("--backbone-lr must be >= 0, got " + backboneLr);
        if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("--dropout must be in [0, 1), got " + dropout);
        if (!(warmupRatio >= 0 && warmupRatio < 1)) throw new IllegalArgumentException("--warmup-ratio must be in [0, 1), got " + warmupRatio);
        if (!(clipNorm >= 0)) throw new IllegalArgumentException("--clip-norm must be >= 0 (0 = off), got " + clipNorm);
        if (!(weightDecay >= 0) || !(backboneWeightDecay >= 0)) throw new IllegalArgumentException("weight decay must be >= 0");
        if (bert == null) {
            positive("--hidden", hidden);
            positive("--layers", layers);
            positive("--heads", heads);
            positive("--intermediate", intermediate);
            if (hidden % heads != 0) throw new IllegalArgumentException("--hidden " + hidden + " is not a multiple of --heads " + heads);
        }
        if (data == null) {
            positive("--synthetic-train", syntheticTrain);
            positive("--synthetic-val", syntheticVal);
        }
    }

    private static void positive(String name, int v) {
        if (v < 1) throw new IllegalArgumentException(name + " must be >= 1, got " + v);
    }

    private static final Gson GSON = new GsonBuilder().serializeNulls().serializeSpecialFloatingPointValues().create();

    public JsonObject toJson() { return GSON.toJsonTree(this).getAsJsonObject(); }

    public static VqaTrainConfig fromJson(JsonObject o) { return GSON.fromJson(o, VqaTrainConfig.class); }

    /**
     * This configuration with its automatic choices made for the dataset in {@code dataDir}: with a
     * built-in tower ({@link VqaModels#TOWERS}, random weights) on a synthetic dataset (one with the object
     * annotations of scenes.json) and no precomputed grids, the tower is pre-trained for
     * {@link #AUTO_PRETRAIN_EPOCHS} epochs and then frozen, and the grid pooled to 2x2; otherwise there is
     * no pre-training, the grid is used whole and the tower is fine-tuned with AdamW.
     */
    public VqaTrainConfig resolved(boolean hasSceneAnnotations) {
        boolean builtIn = gridDir == null && VqaModels.TOWERS.containsKey(clip);
        int pre = towerPretrainEpochs >= 0 ? towerPretrainEpochs : builtIn && hasSceneAnnotations ? AUTO_PRETRAIN_EPOCHS : 0;
        int pool = gridPool >= 0 ? gridPool : builtIn && hasSceneAnnotations ? AUTO_GRID_POOL : 0;
        String bopt = !backboneOptimizer.equals(AUTO) ? backboneOptimizer : pre > 0 ? "frozen" : "adamw";
        return new VqaTrainConfig(data, trainSplit, valSplit, gridDir, skipMissing, clip, imageSize, bert, hidden, layers, heads, intermediate,
                dropout, poolerTanh, maxTextLength, sampleTokens, epochs, batchSize, gradAccum, lr, weightDecay, warmupRatio, clipNorm,
                bopt, backboneLr, backboneMomentum, backboneWeightDecay, seed, evalBatchSize, syntheticTrain, syntheticVal, precision, pool, pre);
    }

    /** A copy with another epoch count (--resume may extend a finished run). */
    public VqaTrainConfig withEpochs(int e) {
        return new VqaTrainConfig(data, trainSplit, valSplit, gridDir, skipMissing, clip, imageSize, bert, hidden, layers, heads,
                intermediate, dropout, poolerTanh, maxTextLength, sampleTokens, e, batchSize, gradAccum, lr, weightDecay, warmupRatio,
                clipNorm, backboneOptimizer, backboneLr, backboneMomentum, backboneWeightDecay, seed, evalBatchSize, syntheticTrain, syntheticVal, precision,
                gridPool, towerPretrainEpochs);
    }

    /** True when training runs under BF16 autocast. */
    public boolean bf16() { return precision.equals("bf16"); }

    /** True when the CUDA backend's F32 GEMMs may use TF32 tensor cores during the run. */
    public boolean tf32() { return precision.equals("tf32"); }
}
