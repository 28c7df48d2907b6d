package dev.clipvil.clip;

import dev.clipvil.backend.CompareOp;
import dev.clipvil.nn.Embedding;
import dev.clipvil.nn.Init;
import dev.clipvil.nn.LayerNorm;
import dev.clipvil.nn.Module;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Linear;
import dev.clipvil.ops.Losses;
import dev.clipvil.ops.Reductions;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.Map;

/**
 * OpenAI's CLIP: an image tower ("visual.*") and a text transformer whose parts live on the model
 * itself, as in the reference, so that the state-dict keys are OpenAI's: "token_embedding.weight",
 * "positional_embedding" [context, width], "transformer.resblocks.{i}.*" (causal), "ln_final.*",
 * "text_projection" [width, embed] and "logit_scale" (a log). Only ops are used in the forward pass,
 * so the model runs on any backend once moved there with {@link #to(dev.clipvil.tensor.Device)}.
 */
public final class Clip extends Module {
    private final ClipConfig config;
    private final ImageEncoder visual;
    private final Transformer transformer;
    private final Embedding tokenEmbedding;
    private final LayerNorm lnFinal;

    /** A freshly initialised model (the reference's {@code initialize_parameters} for the text side). */
    public Clip(ClipConfig config, Init init) { this(config, ImageEncoders.create(config.requireBuildable(), init), init); }

    /** A model around a given image tower, which must agree with {@code config}'s embed size and resolution. */
    public Clip(ClipConfig config, ImageEncoder visual, Init init) {
        config.requireBuildable();
        if (visual.outputDim() != config.embedDim() || visual.inputResolution() != config.imageResolution()) {
            throw new IllegalArgumentException("Clip: the image tower gives " + visual.outputDim() + " features at " + visual.inputResolution()
                    + " px, the config says embed " + config.embedDim() + " at " + config.imageResolution() + " px");
        }
        this.config = config;
        this.visual = visual;
        int tw = config.transformerWidth(), ctx = config.contextLength();
        registerModule("visual", visual.module());
        transformer = registerModule("transformer", new Transformer(tw, config.transformerLayers(), config.transformerHeads(), config.textActivation(), init));
        tokenEmbedding = registerModule("token_embedding", new Embedding(config.vocabSize(), tw, init));
        registerParameter("positional_embedding", Init.empty(ctx, tw));
        lnFinal = registerModule("ln_final", new LayerNorm(tw));
        registerParameter("text_projection", Init.empty(tw, config.embedDim()));
        Init.constant(registerParameter("logit_scale", Init.empty()), Math.log(1 / 0.07));
        registerBuffer("attn_mask", causalMask(ctx), false);
        registerBuffer("token_positions", Creation.arange(DType.I64, ctx), false);
        initializeText(init);
    }

    /** Additive [ctx, ctx]: 0 on and below the diagonal, -inf above (a token sees itself and earlier ones). */
    private static Tensor causalMask(int ctx) {
        float[] m = new float[ctx * ctx];
        for (int i = 0; i < ctx; i++) for (int j = i + 1; j < ctx; j++) m[i * ctx + j] = Float.NEGATIVE_INFINITY;
        return Tensor.of(m, ctx, ctx);
    }

    /** The reference's text-side initialisation: embeddings N(0, 0.02) / N(0, 0.01), block weights scaled by depth. */
    private void initializeText(Init init) {
        int w = config.transformerWidth(), layers = config.transformerLayers();
        init.normal(tokenEmbedding.weight(), 0, 0.02);
        init.normal(param("positional_embedding"), 0, 0.01);
        double projStd = Math.pow(w, -0.5) * Math.pow(2.0 * layers, -0.5), attnStd = Math.pow(w, -0.5), fcStd = Math.pow(2.0 * w, -0.5);
        for (int i = 0; i < layers; i++) {
            Map<String, Tensor> b = transformer.block(i).stateDict();
            init.normal(b.get("attn.in_proj_weight"), 0, attnStd);
            init.normal(b.get("attn.out_proj.weight"), 0, projStd);
            init.normal(b.get("mlp.c_fc.weight"), 0, fcStd);
            init.normal(b.get("mlp.c_proj.weight"), 0, projStd);
        }
        init.normal(param("text_projection"), 0, Math.pow(w, -0.5));
    }

    // ---- image ------------------------------------------------------------------------------

    /** Image features [N, E], unnormalised, as the reference's {@code encode_image}. */
    public Tensor encodeImage(Tensor pixels) { return visual.encode(pixels); }

    // ---- text -------------------------------------------------------------------------------

    /**
     * Token states after ln_final, [N, S, width] (HF's text {@code last_hidden_state}). {@code ids} [N, S]
     * (I32/I64), S <= context length (the reference uses exactly the context length; fewer positions
     * use the first S positional embeddings and the top-left of the causal mask, as HF does).
     */
    public Tensor textTokens(Tensor ids) {
        int s = checkIds(ids);
        Tensor x = Elementwise.add(tokenEmbedding.forward(ids), firstRows(param("positional_embedding"), s));
        Tensor mask = buffer("attn_mask");
        if (s != config.contextLength()) mask = Views.narrow(Views.narrow(mask, 0, 0, s), 1, 0, s);
        return lnFinal.forward(transformer.forward(x, mask));
    }

    /** Text features [N, E], unnormalised: the state at each row's EOT token (the largest id) times text_projection. */
    public Tensor encodeText(Tensor ids) {
        return Linear.matmul(atEot(textTokens(ids), ids), param("text_projection"));
    }

    /**
     * h [N, S, W] at position argmax(ids[n]) for each row: [N, W]. The reference indexes
     * {@code x[arange(N), ids.argmax(-1)]}; here a one-hot row times h does it with ops only (exact:
     * one term is 1 * h, the rest 0 * h), so that it runs unchanged on a device backend.
     */
    private Tensor atEot(Tensor h, Tensor ids) {
        int n = h.shape(0), s = h.shape(1), w = h.shape(2);
        Tensor eot = Reductions.argmax(Elementwise.cast(ids, DType.F32), 1, true);                   // [N, 1] I64
        Tensor hit = Elementwise.compare(CompareOp.EQ, eot, firstRows(buffer("token_positions"), s)); // [N, S] BOOL
        Tensor oneHot = Views.unsqueeze(Elementwise.cast(hit, h.dtype()), 1);                      // [N, 1, S]
        return Views.reshape(Linear.matmul(oneHot, h), n, w);
    }

    private int checkIds(Tensor ids) {
        if (ids.dtype() != DType.I32 && ids.dtype() != DType.I64) {
            throw new dev.clipvil.tensor.DTypeException("Clip.encodeText: token ids must be I32 or I64, got " + ids.describe());
        }
        if (ids.dim() != 2 || ids.shape(1) < 1 || ids.shape(1) > config.contextLength()) {
            throw new ShapeException("Clip.encodeText: expected token ids [N, S] with 1 <= S <= " + config.contextLength() + ", got " + Shapes.str(ids.shape()));
        }
        return ids.shape(1);
    }

    private static Tensor firstRows(Tensor t, int n) { return t.shape(0) == n ? t : Views.narrow(t, 0, 0, n); }

    // ---- both -------------------------------------------------------------------------------

    /** Features, unit-length embeddings and logits of every image against every text. */
    public ClipOutput forward(Tensor pixels, Tensor ids) {
        Tensor img = encodeImage(pixels), txt = encodeText(ids);
        Tensor ie = l2Normalize(img), te = l2Normalize(txt);
        Tensor logitsPerImage = Elementwise.mul(Linear.matmul(ie, Views.transpose(te, 0, 1)), Elementwise.exp(param("logit_scale")));
        return new ClipOutput(img, txt, ie, te, logitsPerImage, Views.transpose(logitsPerImage, 0, 1));
    }

    /** x / ||x|| over the last dimension. */
    public static Tensor l2Normalize(Tensor x) {
        int last = x.dim() - 1;
        return Elementwise.div(x, Elementwise.sqrt(Reductions.sum(Elementwise.mul(x, x), new int[]{last}, true)));
    }

    /**
     * CLIP's symmetric contrastive loss for a square batch (image i goes with text i): the mean of the
     * cross-entropy over the rows of {@code logitsPerImage} and over its columns, labels 0..N-1.
     */
    public static Tensor contrastiveLoss(Tensor logitsPerImage) {
        if (logitsPerImage.dim() != 2 || logitsPerImage.shape(0) != logitsPerImage.shape(1)) {
            throw new ShapeException("Clip.contrastiveLoss: expected square logits [N, N], got " + Shapes.str(logitsPerImage.shape()));
        }
        Tensor labels = Creation.arange(DType.I64, logitsPerImage.shape(0));
        if (!labels.device().equals(logitsPerImage.device())) labels = Creation.to(labels, logitsPerImage.device());
        Tensor perImage = Losses.crossEntropy(logitsPerImage, labels);
        Tensor perText = Losses.crossEntropy(Views.transpose(logitsPerImage, 0, 1), labels);
        return Elementwise.mul(Elementwise.add(perImage, perText), 0.5);
    }

    public ClipConfig config() { return config; }

    public ImageEncoder visual() { return visual; }

    public Transformer transformer() { return transformer; }
}
