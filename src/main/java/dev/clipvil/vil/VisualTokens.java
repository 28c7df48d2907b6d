package dev.clipvil.vil;

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

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * CLIP-ViL_p's visual embedding: a CLIP grid [N, C, h, w] becomes tokens [N, h*w, C] (row-major,
 * token r*w + c is cell (r, c)); learned row embedding r and column embedding c (tables [maxRows, C]
 * and [maxCols, C]) are added to token (r, c) before the projection Linear(C -> H), LayerNorm(H) and
 * dropout. In training, {@link #sampleTokens()} cells (default 100) are kept when the grid has more:
 * the same sorted index set for every image of the batch, drawn from (seed, call number), so a run is
 * reproducible; eval keeps every cell. With {@link #setGridPool} the grid is first average-pooled to k x k
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
    private int[] lastIndices;

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
        lastIndices = null;
        if (isTraining() && sampleTokens > 0 && sampleTokens < h * w) {
            lastIndices = chooseTokens(seed, calls++, h * w, sampleTokens);
            Tensor idx = Creation.onDevice(Tensor.ofInts(lastIndices, lastIndices.length), grid.device());
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

    /** {@code k} distinct indices of [0, total), sorted, from a partial Fisher-Yates shuffle seeded by (seed, call). */
    static int[] chooseTokens(long seed, long call, int total, int k) {
        SplittableRandom rng = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (call + 1)));
        int[] perm = new int[total];
        for (int i = 0; i < total; i++) perm[i] = i;
        for (int i = 0; i < k; i++) {
            int j = i + rng.nextInt(total - i);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        int[] out = Arrays.copyOf(perm, k);
        Arrays.sort(out);
        return out;
    }

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

    /** The cell indices the last forward kept, or null when it kept all. */
    int[] lastIndices() { return lastIndices == null ? null : lastIndices.clone(); }

    public int features() { return features; }
}
