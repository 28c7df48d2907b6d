package dev.clipvil.clip;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.ops.Autocast;
import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One CLIP reference fixture (../shared/fixtures/{openai_vit_small, openai_rn_small, hf_clip_small})
 * run on a given device in F32 or BF16 autocast: the model is loaded, moved to the device, one forward
 * (training mode: no dropout in CLIP, and the ResNet's BatchNorm is frozen, so its outputs are the
 * reference's eval outputs) and the backward of the contrastive loss; every output the fixture holds
 * and every parameter gradient is compared with the reference (max|a-b| / max|b|, gradients against
 * {@link ClipFixtures#gradScale}). The same body serves the CPU tests and the GPU tests.
 */
final class ClipFixtureRun {
    private ClipFixtureRun() {}

    /**
     * Largest accepted errors: forward outputs as max|a-b| / max|b|; gradients the same way, or, with
     * {@code gradByNorm}, as ||a-b|| / ||b|| per tensor (BF16: a small gradient that is a sum of
     * cancelling terms keeps few correct bits in its largest-error element, while its norm stays close).
     */
    record Tolerances(double forward, double grad, boolean gradByNorm) {}

    private static final String[] OUTPUTS = {"image_features", "text_features", "image_embeds", "text_embeds", "logits_per_image", "loss"};

    /**
     * Runs {@code fixture} on {@code device} (BF16 autocast when {@code bf16}), asserts the tolerances
     * and returns the worst error of each kind ("grad.*" for all gradients), which it also prints.
     */
    static Map<String, Double> check(String test, String fixture, Device device, boolean bf16, Tolerances tol) throws IOException {
        Path dir = ClipFixtures.dir(test, fixture, "config.json", "model.safetensors", "expected.safetensors");
        Map<String, Tensor> exp = SafeTensors.readAll(dir.resolve("expected.safetensors"));
        Map<String, Double> worst = new LinkedHashMap<>();
        String worstGrad = "";
        try (Clip clip = ClipLoader.load(dir); MemoryScope s = MemoryScope.open()) {
            clip.to(device);
            clip.train();
            Tensor px = Creation.to(exp.get("pixel_values"), device), ids = Creation.to(exp.get("input_ids"), device);
            ClipOutput out;
            Tensor loss;
            try (Autocast.Guard g = bf16 ? Autocast.bf16() : Autocast.f32()) {
                out = clip.forward(px, ids);
                loss = Clip.contrastiveLoss(out.logitsPerImage());
            }
            Map<String, Tensor> ours = Map.of("image_features", out.imageFeatures(), "text_features", out.textFeatures(),
                    "image_embeds", out.imageEmbeds(), "text_embeds", out.textEmbeds(), "logits_per_image", out.logitsPerImage(), "loss", loss);
            for (String k : OUTPUTS) {
                if (!exp.containsKey(k)) continue;
                assertEquals(device, ours.get(k).device(), k + " left the device");
                double err = ClipFixtures.relErr(k, ours.get(k), exp.get(k));
                worst.put(k, err);
                assertTrue(err <= tol.forward(), fixture + " " + k + ": max|a-b|/max|b| = " + err + " > " + tol.forward());
            }
            Autograd.backward(loss);
            Map<String, Tensor> grads = new LinkedHashMap<>();
            clip.namedParameters().forEach((k, p) -> {
                assertNotNull(p.grad(), fixture + ": no gradient for " + k);
                assertEquals(device, p.grad().device(), k + ": gradient left the device");
                grads.put(k, p.grad());
            });
            boolean hf = HfClipKeys.isHf(exp.keySet().stream().filter(k -> k.startsWith("grad.")).map(k -> k.substring(5)).toList());
            Map<String, Tensor> named = hf ? HfClipKeys.toHf(grads) : grads;
            TreeSet<String> want = new TreeSet<>();
            for (String k : exp.keySet()) if (k.startsWith("grad.")) want.add(k.substring(5));
            assertEquals(want, new TreeSet<>(named.keySet()), fixture + ": gradient names");
            double gw = 0;
            for (String k : want) {
                double err = tol.gradByNorm() ? normErr(k, named.get(k), exp)
                        : ClipFixtures.relErr("grad." + k, named.get(k), exp.get("grad." + k), ClipFixtures.gradScale(k, exp));
                if (err >= gw) {
                    gw = err;
                    worstGrad = k;
                }
                assertTrue(err <= tol.grad(), fixture + " grad." + k + ": error " + err + " relative to its largest value > " + tol.grad());
            }
            worst.put(tol.gradByNorm() ? "grad.* (norm)" : "grad.*", gw);
            if (hf) named.values().forEach(Tensor::close);
            clip.zeroGrad();
        } finally {
            exp.values().forEach(Tensor::close);
        }
        StringBuilder sb = new StringBuilder(String.format("%s on %s, %s: worst max|a-b|/max|b|:", fixture, device, bf16 ? "bf16 autocast" : "f32"));
        worst.forEach((k, v) -> sb.append(String.format(" %s %.2e;", k, v)));
        System.out.println(sb.append(" (worst gradient: ").append(worstGrad).append(')'));
        return worst;
    }

    /** ||a - b|| / ||b|| of gradient {@code k}; an attention key bias against the q/k/v biases' norm (see {@link ClipFixtures#gradScale}). */
    private static double normErr(String k, Tensor actual, Map<String, Tensor> exp) {
        double[] a = actual.toDoubleArray(), b = exp.get("grad." + k).toDoubleArray();
        assertEquals(b.length, a.length, "grad." + k + ": size");
        double num = 0, den = 0;
        for (int i = 0; i < b.length; i++) {
            num += (a[i] - b[i]) * (a[i] - b[i]);
            den += b[i] * b[i];
        }
        if (k.endsWith("k_proj.bias")) {
            den = 0;
            for (String p : new String[]{"q_proj", "k_proj", "v_proj"}) for (double v : exp.get("grad." + k.replace("k_proj", p)).toDoubleArray()) den += v * v;
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }
}
