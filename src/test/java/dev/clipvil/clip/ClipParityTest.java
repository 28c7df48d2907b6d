package dev.clipvil.clip;

import com.google.gson.JsonArray;
import com.google.gson.JsonParser;
import dev.clipvil.autograd.Autograd;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.optim.AdamW;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole CLIP model against the reference implementations' outputs (forward, every gradient of the
 * contrastive loss, an AdamW trajectory), in float32. Prints the worst relative error of each kind.
 */
class ClipParityTest {
    static final double FORWARD_TOL = 1e-4, GRAD_TOL = 1e-3, ADAMW_TOL = 1e-4;

    private static void check(Map<String, Double> worst, String what, double err, double tol) {
        worst.merge(what.startsWith("grad.") ? "grad.*" : what, err, Math::max);
        assertTrue(err <= tol, what + ": relative error " + err + " > " + tol);
    }

    private static void print(String fixture, Map<String, Double> worst) {
        StringBuilder sb = new StringBuilder(fixture + " worst max|a-b|/max|b|:");
        worst.forEach((k, v) -> sb.append(String.format(" %s %.2e;", k, v)));
        System.out.println(sb);
    }

    /** Our gradients keyed by OpenAI names. */
    private static Map<String, Tensor> grads(Clip clip) {
        Map<String, Tensor> g = new LinkedHashMap<>();
        clip.namedParameters().forEach((k, p) -> {
            assertNotNull(p.grad(), "no gradient for " + k);
            g.put(k, p.grad());
        });
        return g;
    }

    private static void checkGrads(Map<String, Tensor> ours, Map<String, Tensor> expected, Map<String, Double> worst) {
        TreeSet<String> want = new TreeSet<>();
        for (String k : expected.keySet()) if (k.startsWith("grad.")) want.add(k.substring(5));
        assertEquals(want, new TreeSet<>(ours.keySet()), "gradient names");
        for (String k : want) check(worst, "grad." + k, ClipFixtures.relErr("grad." + k, ours.get(k), expected.get("grad." + k), ClipFixtures.gradScale(k, expected)), GRAD_TOL);
    }

    @Test
    void hfClipSmallForwardAndGradients() throws IOException {
        Path dir = ClipFixtures.dir("ClipParityTest", "hf_clip_small", "config.json", "model.safetensors", "expected.safetensors");
        Map<String, Tensor> exp = SafeTensors.readAll(dir.resolve("expected.safetensors"));
        Map<String, Double> worst = new LinkedHashMap<>();
        try (Clip clip = ClipLoader.load(dir); MemoryScope scope = MemoryScope.open()) {
            Tensor pixels = exp.get("pixel_values"), ids = exp.get("input_ids");
            ClipOutput out = clip.forward(pixels, ids);
            Tensor loss = Clip.contrastiveLoss(out.logitsPerImage());
            check(worst, "image_embeds", ClipFixtures.relErr("image_embeds", out.imageEmbeds(), exp.get("image_embeds")), FORWARD_TOL);
            check(worst, "text_embeds", ClipFixtures.relErr("text_embeds", out.textEmbeds(), exp.get("text_embeds")), FORWARD_TOL);
            check(worst, "logits_per_image", ClipFixtures.relErr("logits_per_image", out.logitsPerImage(), exp.get("logits_per_image")), FORWARD_TOL);
            check(worst, "loss", ClipFixtures.relErr("loss", loss, exp.get("loss")), FORWARD_TOL);
            Tensor vision = ((VitImageEncoder) clip.visual()).vit().forwardTokens(pixels);
            check(worst, "vision_last_hidden_state", ClipFixtures.relErr("vision_last_hidden_state", vision, exp.get("vision_last_hidden_state")), FORWARD_TOL);
            check(worst, "text_last_hidden_state", ClipFixtures.relErr("text_last_hidden_state", clip.textTokens(ids), exp.get("text_last_hidden_state")), FORWARD_TOL);
            Autograd.backward(loss);
            Map<String, Tensor> hf = HfClipKeys.toHf(grads(clip));
            try {
                checkGrads(hf, exp, worst);
            } finally {
                hf.values().forEach(Tensor::close);
            }
        } finally {
            exp.values().forEach(Tensor::close);
        }
        print("hf_clip_small", worst);
    }

    @Test
    void hfClipSmallAdamWTrajectory() throws IOException {
        Path dir = ClipFixtures.dir("ClipParityTest", "hf_clip_small", "config.json", "model.safetensors", "expected.safetensors", "adamw_trajectory.json");
        JsonArray want = JsonParser.parseString(Files.readString(dir.resolve("adamw_trajectory.json"))).getAsJsonObject().getAsJsonArray("losses");
        Map<String, Tensor> exp = SafeTensors.readAll(dir.resolve("expected.safetensors"));
        double worst = 0;
        // AdamW(lr=1e-3, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.2) over every parameter, as adamw_trajectory.json says
        try (Clip clip = ClipLoader.load(dir); AdamW opt = new AdamW(clip.namedParameters(), 1e-3, 0.9, 0.98, 1e-6, 0.2)) {
            clip.train();
            for (int step = 0; step < want.size(); step++) {
                try (MemoryScope scope = MemoryScope.open()) {
                    opt.zeroGrad();
                    Tensor loss = Clip.contrastiveLoss(clip.forward(exp.get("pixel_values"), exp.get("input_ids")).logitsPerImage());
                    double err = Math.abs(loss.item() - want.get(step).getAsDouble());
                    worst = Math.max(worst, err);
                    assertTrue(err <= ADAMW_TOL, "loss before step " + step + ": " + loss.item() + " vs " + want.get(step).getAsDouble());
                    if (step < want.size() - 1) {
                        Autograd.backward(loss);
                        opt.step();
                    }
                }
            }
        } finally {
            exp.values().forEach(Tensor::close);
        }
        System.out.printf("hf_clip_small AdamW trajectory: worst |loss - reference| %.2e over %d losses%n", worst, want.size());
    }

    @Test
    void openaiVitSmallForwardAndGradients() throws IOException {
        Path dir = ClipFixtures.dir("ClipParityTest", "openai_vit_small", "config.json", "model.safetensors", "expected.safetensors");
        Map<String, Tensor> exp = SafeTensors.readAll(dir.resolve("expected.safetensors"));
        Map<String, Double> worst = new LinkedHashMap<>();
        try (Clip clip = ClipLoader.load(dir); MemoryScope scope = MemoryScope.open()) {
            ClipOutput out = clip.forward(exp.get("pixel_values"), exp.get("input_ids"));
            Tensor loss = Clip.contrastiveLoss(out.logitsPerImage());
            check(worst, "image_features", ClipFixtures.relErr("image_features", out.imageFeatures(), exp.get("image_features")), FORWARD_TOL);
            check(worst, "text_features", ClipFixtures.relErr("text_features", out.textFeatures(), exp.get("text_features")), FORWARD_TOL);
            check(worst, "logits_per_image", ClipFixtures.relErr("logits_per_image", out.logitsPerImage(), exp.get("logits_per_image")), FORWARD_TOL);
            check(worst, "loss", ClipFixtures.relErr("loss", loss, exp.get("loss")), FORWARD_TOL);
            Autograd.backward(loss);
            checkGrads(grads(clip), exp, worst);
        } finally {
            exp.values().forEach(Tensor::close);
        }
        print("openai_vit_small", worst);
    }
}
