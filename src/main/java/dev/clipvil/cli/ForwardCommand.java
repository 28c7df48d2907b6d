package dev.clipvil.cli;

import com.google.gson.Gson;
import dev.clipvil.autograd.GradMode;
import dev.clipvil.clip.Clip;
import dev.clipvil.clip.ClipConfig;
import dev.clipvil.clip.ClipLoader;
import dev.clipvil.clip.ClipPreprocess;
import dev.clipvil.clip.VitImageEncoder;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.ops.Autocast;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Linear;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.vil.BertForPreTraining;
import dev.clipvil.vil.BertLoader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code clipvil forward --model M [--inputs IN.safetensors] [--images F...] [--texts T...] --out OUT.safetensors}: runs a CLIP model
 * (no gradients) on a batch of pixel_values and/or input_ids and writes what applies of
 * image_features, text_features (projected, unnormalised), logits_per_image (both given),
 * vision_last_hidden_state (ViT: after the last block, before ln_post, class token first),
 * text_last_hidden_state (after ln_final) and grid (the CLIP-ViL grid features [N, C, h, w]: a ResNet's
 * layer4 map, a ViT's patch tokens after ln_post). A BERT folder (see {@link BertForward}) is run as
 * BERT, optionally fused with visual_embeds: last_hidden_state and pooled.
 */
@Command(name = "forward", mixinStandardHelpOptions = true,
        description = {"Run a CLIP or BERT model and write its outputs to a safetensors file.",
                "CLIP inputs: pixel_values [N,3,R,R] (F32) and/or input_ids [N,S] (I32/I64) from --inputs,",
                "or --images / --texts, preprocessed and tokenized as CLIP's reference does. Outputs:",
                "image_features, text_features, logits_per_image, vision_last_hidden_state,",
                "text_last_hidden_state, grid (those that apply).",
                "BERT (an HF BERT folder) inputs from --inputs: input_ids [N,T], optional token_type_ids,",
                "attention_mask (I32/I64) and visual_embeds [N,V,hidden] (appended after the text).",
                "Outputs: last_hidden_state [N,T+V,hidden], pooled [N,hidden] (F32).",
                "Runs on --device in --precision; the outputs are F32 either way."})
final class ForwardCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR|FILE", description = "CLIP model: HF folder, OpenAI .safetensors/.pt, or a folder holding one; or an HF BERT folder.")
    Path model;

    @Option(names = "--inputs", paramLabel = "IN.safetensors", description = "Inputs: pixel_values and/or input_ids (CLIP); input_ids, token_type_ids, attention_mask, visual_embeds (BERT).")
    Path inputs;

    @Option(names = "--images", arity = "1..*", paramLabel = "FILE", description = "Images, preprocessed as CLIP's reference (resize, center crop, normalise).")
    List<Path> images;

    @Option(names = "--texts", arity = "1..*", paramLabel = "TEXT", description = "Texts, tokenized with the CLIP BPE vocabulary.")
    List<String> texts;

    @Mixin
    TextOptions text;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "OUT.safetensors", description = "Output file (replaced atomically).")
    Path out;

    @Mixin
    ComputeOptions compute;

    @Override
    public Integer call() throws IOException {
        long t0 = System.nanoTime();
        compute.check();
        Map<String, Tensor> outputs = new LinkedHashMap<>();
        if (inputs == null && images == null && texts == null) throw new IllegalArgumentException("give --inputs, --images or --texts");
        boolean bert = BertForward.isBertFolder(model);
        if (bert && (images != null || texts != null || inputs == null)) {
            throw new IllegalArgumentException(model + " is a BERT folder: give its inputs with --inputs (input_ids, optional token_type_ids,"
                    + " attention_mask, visual_embeds); --images and --texts are for CLIP models");
        }
        Compute c = compute.resolve("forward", spec.commandLine().getErr(), false, null);
        try (Compute.Scope switches = c.open()) {
            if (bert) runBert(c, outputs);
            else runClip(c, outputs);
        }
        report(t0, outputs);
        return 0;
    }

    /** An HF BERT folder on --inputs (see {@link BertForward}); the outputs are read back once each. */
    private void runBert(Compute c, Map<String, Tensor> outputs) throws IOException {
        try (BertForPreTraining bert = BertLoader.load(model); MemoryScope scope = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            bert.to(c.device());
            BertForward.compute(bert, inputs, outputs, c);
            outputs.replaceAll((k, t) -> Compute.hostF32(t));
            SafeTensors.write(out, outputs, Map.of("model", model.toString(), "inputs", inputs.toString()));
        }
    }

    /** A CLIP model on the batch of --inputs / --images / --texts; the outputs are read back once each. */
    private void runClip(Compute c, Map<String, Tensor> outputs) throws IOException {
        try (Clip clip = ClipLoader.load(model); ClipBatch batch = batch(clip.config()).on(c)) {
            clip.to(c.device());
            try (MemoryScope scope = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
                try (Autocast.Guard ac = c.autocast()) {
                    compute(clip, batch, outputs);
                }
                outputs.replaceAll((k, t) -> Compute.hostF32(t));                             // one read back per output
                Map<String, String> meta = new LinkedHashMap<>();
                meta.put("model", model.toString());
                if (inputs != null) meta.put("inputs", inputs.toString());
                if (images != null) meta.put("images", new Gson().toJson(images.stream().map(Path::toString).toList()));
                if (texts != null) meta.put("texts", new Gson().toJson(texts));
                SafeTensors.write(out, outputs, meta);
            }
        }
    }

    private void report(long t0, Map<String, Tensor> outputs) {
        PrintWriter w = spec.commandLine().getOut();
        StringBuilder sb = new StringBuilder();
        outputs.forEach((k, t) -> sb.append(sb.length() == 0 ? "" : ", ").append(k).append(' ').append(Shapes.str(t.shape())));
        w.printf("wrote %s: %s (%.2f s)%n", out, sb, (System.nanoTime() - t0) / 1e9);
        w.flush();
    }

    /** The batch from --inputs, with --images / --texts filling (not replacing) what it lacks. */
    private ClipBatch batch(ClipConfig config) throws IOException {
        ClipBatch fromFile = inputs == null ? new ClipBatch(null, null) : ClipBatch.read(inputs, config);
        Tensor pixels = fromFile.pixels(), ids = fromFile.ids();
        try {
            if (images != null) {
                if (pixels != null) throw new IllegalArgumentException("both --images and " + inputs + "'s 'pixel_values' give images; use one");
                pixels = ClipPreprocess.loadBatch(images, config.imageResolution());
            }
            if (texts != null) {
                if (ids != null) throw new IllegalArgumentException("both --texts and " + inputs + "'s 'input_ids' give texts; use one");
                ids = ClipBatch.checkIds("--texts", text.tokenize(model, config, texts), config);
            }
        } catch (IOException | RuntimeException e) {
            fromFile.close();
            if (pixels != null) pixels.close();
            throw e;
        }
        return new ClipBatch(pixels, ids);
    }

    /** Fills {@code outputs} with what applies to the batch (tensors owned by the current scope). */
    static void compute(Clip clip, ClipBatch batch, Map<String, Tensor> outputs) {
        Tensor img = null, txt = null;
        if (batch.pixels() != null) {
            img = clip.encodeImage(batch.pixels());
            outputs.put("image_features", img);
        }
        if (batch.ids() != null) {
            txt = clip.encodeText(batch.ids());
            outputs.put("text_features", txt);
        }
        if (img != null && txt != null) {
            Tensor logits = Linear.matmul(Clip.l2Normalize(img), Views.transpose(Clip.l2Normalize(txt), 0, 1));
            outputs.put("logits_per_image", Elementwise.mul(logits, Elementwise.exp(clip.stateDict().get("logit_scale"))));
        }
        if (img != null && clip.visual() instanceof VitImageEncoder vit) outputs.put("vision_last_hidden_state", vit.vit().forwardTokens(batch.pixels()));
        if (img != null) outputs.put("grid", grid(clip, batch.pixels()));
        if (txt != null) outputs.put("text_last_hidden_state", clip.textTokens(batch.ids()));
    }

    /**
     * The CLIP-ViL grid features of {@code pixels}: a ResNet tower's layer4 map, or a ViT's patch tokens
     * after ln_post, as [N, C, h, w].
     */
    static Tensor grid(Clip clip, Tensor pixels) { return clip.visual().grid(pixels); }
}
