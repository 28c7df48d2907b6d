package dev.clipvil.clip;

import dev.clipvil.ops.Elementwise;
import dev.clipvil.tensor.Tensor;

/**
 * The non-linearity of a CLIP block MLP. OpenAI's released models use QuickGELU; some HF-format
 * checkpoints (e.g. converted open_clip models) say {@code "hidden_act": "gelu"}, the exact erf form.
 */
public enum Activation {
    /** {@code x * sigmoid(1.702 x)}, as OpenAI's CLIP. */
    QUICK_GELU("quick_gelu"),
    /** Exact GELU, {@code 0.5 x (1 + erf(x / sqrt 2))}, as {@code torch.nn.GELU()} and HF's "gelu". */
    GELU("gelu");

    private final String hfName;

    Activation(String hfName) { this.hfName = hfName; }

    public Tensor apply(Tensor x) {
        return this == QUICK_GELU ? Elementwise.quickGelu(x) : Elementwise.gelu(x);
    }

    /** The {@code hidden_act} string of HF configs. */
    public String hfName() { return hfName; }

    /** Parses HF's {@code hidden_act}; anything but "quick_gelu" and "gelu" is refused by name. */
    public static Activation fromHf(String hidden) {
        for (Activation a : values()) if (a.hfName.equals(hidden)) return a;
        throw new IllegalArgumentException("unsupported hidden_act \"" + hidden + "\": CLIP blocks support \"quick_gelu\" and \"gelu\""
                + " (the tanh approximations \"gelu_new\"/\"gelu_pytorch_tanh\" are not exact GELU and are refused)");
    }
}
