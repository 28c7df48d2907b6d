package dev.clipvil.clip;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.clipvil.autograd.Autograd;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.nn.Init;
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
 * CLIP with its ResNet image tower against the reference implementation (../shared/fixtures/
 * openai_rn_small: OpenAI-format weights incl. BatchNorm buffers; outputs in eval mode, gradients with
 * BatchNorm using its running statistics). Skipped with a message when the fixtures are absent. Prints
 * the worst relative errors.
 */
class ClipResNetFixtureTest {
    private static final String FIXTURE = "openai_rn_small";
    private static final double FORWARD_TOL = 1e-4, GRAD_TOL = 1e-3;

    private static Path dir() {
        return ClipFixtures.dir("ClipResNetFixtureTest", FIXTURE, "config.json", "model.safetensors", "expected.safetensors");
    }

    private static void check(Map<String, Double> worst, String what, Tensor actual, Tensor expected, double tol) {
        double err = ClipFixtures.relErr(what, actual, expected);
        worst.put(what, err);
        assertTrue(err <= tol, what + ": max|a-b|/max|b| = " + err + " > " + tol);
    }

    /** The tower alone, built from the constructor arguments in config.json (heads = width * 32 / 64, as CLIP). */
    @Test
    void visualTowerMatchesTheReference() throws IOException {
        Path dir = dir();
        JsonObject cfg = JsonParser.parseString(Files.readString(dir.resolve("config.json"))).getAsJsonObject();
        int[] layers = new int[4];
        for (int i = 0; i < 4; i++) layers[i] = cfg.getAsJsonArray("vision_layers").get(i).getAsInt();
        int width = cfg.get("vision_width").getAsInt();
        Map<String, Tensor> model = SafeTensors.readAll(dir.resolve("model.safetensors"));
        Map<String, Tensor> exp = SafeTensors.readAll(dir.resolve("expected.safetensors"));
        Map<String, Double> worst = new LinkedHashMap<>();
        try (ModifiedResNet rn = new ModifiedResNet(layers, cfg.get("embed_dim").getAsInt(), width * 32 / 64, cfg.get("image_resolution").getAsInt(), width, new Init(0));
             MemoryScope s = MemoryScope.open()) {
            Map<String, Tensor> visual = new LinkedHashMap<>();
            model.forEach((k, v) -> { if (k.startsWith("visual.")) visual.put(k.substring("visual.".length()), v); });
            assertEquals(new TreeSet<>(visual.keySet()), new TreeSet<>(rn.stateDict().keySet()));
            assertTrue(rn.loadStateDict(visual).isClean());
            rn.eval();
            Tensor px = exp.get("pixel_values");
            check(worst, "layer4_grid", rn.forwardGrid(px), exp.get("layer4_grid"), FORWARD_TOL);
            check(worst, "image_features", rn.forward(px), exp.get("image_features"), FORWARD_TOL);
            // frozen BatchNorm: training mode gives the eval outputs
            rn.train();
            check(worst, "image_features(train mode, frozen BN)", rn.forward(px), exp.get("image_features"), FORWARD_TOL);
        } finally {
            model.values().forEach(Tensor::close);
            exp.values().forEach(Tensor::close);
        }
        System.out.println(FIXTURE + " visual tower, max|a-b|/max|b|: " + worst);
    }

    /** The whole model through ClipLoader: features, logits, loss, and the gradient of every parameter. */
    @Test
    void wholeModelForwardAndGradients() throws IOException {
        Path dir = dir();
        Map<String, Tensor> exp = SafeTensors.readAll(dir.resolve("expected.safetensors"));
        Map<String, Double> worst = new LinkedHashMap<>();
        try (Clip clip = ClipLoader.load(dir); MemoryScope s = MemoryScope.open()) {
            assertTrue(clip.visual() instanceof ModifiedResNet, "the loader built " + clip.visual().getClass().getSimpleName());
            Tensor px = exp.get("pixel_values"), ids = exp.get("input_ids");
            ClipOutput out = clip.forward(px, ids);
            check(worst, "image_features", out.imageFeatures(), exp.get("image_features"), FORWARD_TOL);
            check(worst, "text_features", out.textFeatures(), exp.get("text_features"), FORWARD_TOL);
            check(worst, "logits_per_image", out.logitsPerImage(), exp.get("logits_per_image"), FORWARD_TOL);
            check(worst, "loss", Clip.contrastiveLoss(out.logitsPerImage()), exp.get("loss"), FORWARD_TOL);
            check(worst, "layer4_grid", ((ModifiedResNet) clip.visual()).forwardGrid(px), exp.get("layer4_grid"), FORWARD_TOL);

            // gradients in training mode: the ResNet's BatchNorm statistics stay frozen, as the reference's eval-mode BN
            clip.train();
            Autograd.backward(Clip.contrastiveLoss(clip.forward(px, ids).logitsPerImage()));
            TreeSet<String> want = new TreeSet<>();
            for (String k : exp.keySet()) if (k.startsWith("grad.")) want.add(k.substring(5));
            assertEquals(want, new TreeSet<>(clip.namedParameters().keySet()), "gradient names");
            String worstName = null;
            double worstGrad = 0;
            for (var e : clip.namedParameters().entrySet()) {
                Tensor g = e.getValue().grad();
                assertNotNull(g, "no gradient for " + e.getKey());
                double err = ClipFixtures.relErr("grad." + e.getKey(), g, exp.get("grad." + e.getKey()), ClipFixtures.gradScale(e.getKey(), exp));
                if (err >= worstGrad) {
                    worstGrad = err;
                    worstName = e.getKey();
                }
                assertTrue(err <= GRAD_TOL, "grad." + e.getKey() + ": error " + err + " relative to its largest value > " + GRAD_TOL);
            }
            worst.put("grad.* (worst: " + worstName + ")", worstGrad);
            Tensor kb = clip.namedParameters().get("visual.attnpool.k_proj.bias");
            System.out.printf("%s: attnpool.k_proj.bias gradient (zero in exact arithmetic): max |ours| %.2e, max |reference| %.2e, max |q/k/v bias grads| %.2e%n",
                    FIXTURE, ClipFixtures.maxAbs(kb.grad()), ClipFixtures.maxAbs(exp.get("grad.visual.attnpool.k_proj.bias")), ClipFixtures.gradScale("visual.attnpool.k_proj.bias", exp));
            clip.zeroGrad();
        } finally {
            exp.values().forEach(Tensor::close);
        }
        System.out.println(FIXTURE + " whole model, max|a-b|/max|b|: " + worst);
    }
}
