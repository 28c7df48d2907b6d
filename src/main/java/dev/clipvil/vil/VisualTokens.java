package dev.clipvil.vil;

import dev.clipvil.backend.HostSeeds;
import dev.clipvil.backend.cpu.CpuRandom;
import dev.clipvil.nn.Dropout;
import dev.clipvil.nn.Init;
import dev.clipvil.nn.LayerNorm;
import dev.clipvil.nn.Linear;
import dev.clipvil.nn.Module;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Indexing;
import dev.clipvil.ops.Pooling;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;


/**
 * CLIP-ViL_p's visual embedding: a CLIP grid [N, C, h, w] becomes tokens [N, h*w, C] (row-major,
 * token r*w + c is cell (r, c)); learned row embedding r and column embedding c (tables [maxRows, C]
 * and [maxCols, C]) are added to token (r, c) before the projection Linear(C -> H), LayerNorm(H) and
 * dropout. In training, {@link #sampleTokens()} cells (default 100) are kept when the grid has more:
 * the same sorted index set for every image of the batch, drawn on the grid's device
 * ({@link Creation#randomSubset}) from a seed that is a function of (module seed, call number), so a
 * run is reproducible and the same on every backend; the seed goes through {@link HostSeeds#draw}, so a
 * training step captured in a CUDA graph draws a new set at every replay. Eval keeps every cell. With {@link #setGridPool} the grid is first average-pooled to k x k
 * cells (a small from-scratch fusion binds a few whole-object tokens faster than many parts). Names: "row_embeddings", "col_embeddings", "proj", "LayerNorm",
 * "dropout".
 */
public final class VisualTokens extends Module {
    public static final int MAX_POSITIONS = 25;
    public static final int DEFAULT_SAMPLE = 100;

    private final int features, maxRows, maxCols;
    private final Linear proj;
    private final LayerNorm norm;
    private final Dropout dropout;
    private int sampleTokens = DEFAULT_SAMPLE;
    private int gridPool;
    private long seed, calls;
    /** The last training forward's draw (seed, cells), or lastCells 0 when it kept every cell. */
    private long lastSeed;
    private int lastCells, lastKept;

    public VisualTokens(int features, int hidden, double layerNormEps, double dropoutP, double initStd, Init init) {
        this(features, hidden, MAX_POSITIONS, MAX_POSITIONS, layerNormEps, dropoutP, initStd, init);
    }

    public VisualTokens(int features, int hidden, int maxRows, int maxCols, double layerNormEps, double dropoutP,
                        double initStd, Init init) {
        if (features < 1 || hidden < 1 || maxRows < 1 || maxCols < 1) {
            throw new IllegalArgumentException("VisualTokens: invalid sizes features=" + features + " hidden=" + hidden
                    + " maxRows=" + maxRows + " maxCols=" + maxCols);
        }
        this.features = features;
        this.maxRows = maxRows;
        this.maxCols = maxCols;
        init.normal(registerParameter("row_embeddings", Init.empty(maxRows, features)), 0, initStd);
        init.normal(registerParameter("col_embeddings", Init.empty(maxCols, features)), 0, initStd);
        proj = registerModule("proj", new Linear(features, hidden, true, init));
        init.normal(proj.weight(), 0, initStd);
        Init.zeros(proj.bias());
        norm = registerModule("LayerNorm", new LayerNorm(hidden, layerNormEps));
        dropout = registerModule("dropout", new Dropout(dropoutP, init));
        seed = init.nextSeed();
    }

    /** {@code grid} [N, C, h, w] -> [N, h*w, H] (eval) or [N, min(K, h*w), H] (training). */
    public Tensor forward(Tensor grid) {
        if (grid.dim() != 4 || grid.shape(1) != features) {
            throw new ShapeException("VisualTokens: grid must be [N, " + features + ", h, w], got " + Shapes.str(grid.shape()));
        }
        if (gridPool > 0 && (grid.shape(2) != gridPool || grid.shape(3) != gridPool)) grid = Pooling.adaptiveAvgPool2d(grid, gridPool, gridPool);
        int h = grid.shape(2), w = grid.shape(3);
        if (h > maxRows || w > maxCols) {
            throw new ShapeException("VisualTokens: grid " + Shapes.str(grid.shape()) + " exceeds the position tables ("
                    + maxRows + " rows, " + maxCols + " columns)");
        }
        Tensor tokens = Views.transpose(Views.flatten(grid, 2, 3), 1, 2);
        Tensor pos = positions(h, w);
        lastCells = 0;
        if (isTraining() && sampleTokens > 0 && sampleTokens < h * w) {
            lastSeed = HostSeeds.draw(this::nextSamplingSeed);
            lastCells = h * w;
            lastKept = sampleTokens;
            Tensor idx = Creation.randomSubset(grid.device(), lastCells, lastKept, lastSeed);
            tokens = Indexing.indexSelect(tokens, 1, idx);
            pos = Indexing.indexSelect(pos, 0, idx);
        }
        Tensor x = Elementwise.add(tokens, pos);
        return dropout.forward(norm.forward(proj.forward(x)));
    }

    /** The position term of every cell, [h*w, C]: row_embeddings[r] + col_embeddings[c] at r*w + c. */
    private Tensor positions(int h, int w) {
        Tensor rows = Views.unsqueeze(Views.narrow(param("row_embeddings"), 0, 0, h), 1);
        Tensor cols = Views.unsqueeze(Views.narrow(param("col_embeddings"), 0, 0, w), 0);
        return Views.reshape(Elementwise.add(rows, cols), h * w, features);
    }

    /** Counts a sampling call and returns its subset seed. */
    private long nextSamplingSeed() { return samplingSeed(seed, calls++); }

    /** The subset seed of sampling call {@code call} (the first is 0) of a module seeded {@code seed}: SplitMix64's finaliser. */
    static long samplingSeed(long seed, long call) {
        long z = seed + 0x9E3779B97F4A7C15L * (call + 1);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The {@code k} cells of [0, total), sorted, that sampling call {@code call} of a module seeded {@code seed} keeps. */
    static int[] chooseTokens(long seed, long call, int total, int k) { return CpuRandom.subsetIndices(total, k, samplingSeed(seed, call)); }

    /** The side the grid is average-pooled to before it becomes tokens (0: the grid as it comes). */
    public int gridPool() { return gridPool; }

    /** Average-pools every grid to {@code k} x {@code k} cells (adaptive, as PyTorch's) first; 0 turns it off. */
    public VisualTokens setGridPool(int k) {
        if (k < 0 || k > Math.min(maxRows, maxCols)) {
            throw new IllegalArgumentException("VisualTokens: grid pool must be 0 (off) or 1.." + Math.min(maxRows, maxCols) + ", got " + k);
        }
        gridPool = k;
        return this;
    }

    /** Cells kept per image in training (0 or >= h*w keeps all). */
    public int sampleTokens() { return sampleTokens; }

    public VisualTokens setSampleTokens(int k) {
        if (k < 0) throw new IllegalArgumentException("VisualTokens: sample size must be >= 0, got " + k);
        sampleTokens = k;
        return this;
    }

    /** Training-mode sampling calls so far (saved with a checkpoint so a resumed run draws the same cells). */
    public long calls() { return calls; }

    /** Restores the sampling call counter (resuming a run). */
    public void setCalls(long c) {
        if (c < 0) throw new IllegalArgumentException("VisualTokens: call counter must be >= 0, got " + c);
        calls = c;
    }

    /** Restarts the sampling sequence from {@code s}. */
    public VisualTokens setSeed(long s) {
        seed = s;
        calls = 0;
        return this;
    }

    /** The cell indices the last forward kept, or null when it kept all (recomputed on the host from its seed). */
    int[] lastIndices() { return lastCells == 0 ? null : CpuRandom.subsetIndices(lastCells, lastKept, lastSeed); }

    public int features() { return features; }
}
