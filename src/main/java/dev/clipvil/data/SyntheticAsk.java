package dev.clipvil.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The five questions asked of each synthetic scene (colour, shape, count, position, existence), with the
 * answer computed from the scene and ten simulated human answers: mostly the right one, with up to three
 * plausible disagreements so that VQA accuracy's leave-one-out averaging has something to do.
 */
final class SyntheticAsk {
    /** Questions per image; question_id = image_id * 10 + k for k below this. */
    static final int PER_IMAGE = 5;

    /** One question with its VQA type fields, the right answer and ten human answers (confidence "maybe" on a disagreement). */
    record Asked(int k, String question, String questionType, String answerType, String answer,
                 List<String> humans, List<Boolean> sure) {}

    private SyntheticAsk() {}

    static List<Asked> ask(SyntheticScene s, SplittableRandom r) {
        List<SyntheticScene.Item> objs = s.objects();
        List<Asked> out = new ArrayList<>();
        SyntheticScene.Item a = objs.get(r.nextInt(objs.size()));
        out.add(make(0, "what color is the " + a.shape() + "?", "what color is the", "other", a.color(), SyntheticScene.COLORS, r));
        SyntheticScene.Item b = objs.get(r.nextInt(objs.size()));
        out.add(make(1, "what shape is the " + b.color() + " object?", "what shape is the", "other", b.shape(), SyntheticScene.SHAPES, r));
        String n = Integer.toString(objs.size());
        out.add(make(2, "how many shapes are there?", "how many", "number", n,
                new String[] {"1", "2", "3", "4"}, r));
        SyntheticScene.Item c = objs.get(r.nextInt(objs.size()));
        String side = new String[] {"left", "right", "top", "bottom"}[r.nextInt(4)];
        boolean on = side.equals(c.horizontal()) || side.equals(c.vertical());
        out.add(make(3, "is the " + c.shape() + " on the " + side + "?", "is the", "yes/no", on ? "yes" : "no", YES_NO, r));
        String color, shape;
        if (r.nextBoolean()) {
            SyntheticScene.Item d = objs.get(r.nextInt(objs.size()));
            color = d.color();
            shape = d.shape();
        } else {
            do {
                color = SyntheticScene.COLORS[r.nextInt(SyntheticScene.COLORS.length)];
                shape = SyntheticScene.SHAPES[r.nextInt(SyntheticScene.SHAPES.length)];
            } while (s.has(color, shape));
        }
        out.add(make(4, "is there a " + color + " " + shape + "?", "is there a", "yes/no", s.has(color, shape) ? "yes" : "no", YES_NO, r));
        return out;
    }

    private static final String[] YES_NO = {"yes", "no"};

    private static Asked make(int k, String q, String type, String answerType, String answer, String[] pool, SplittableRandom r) {
        List<String> humans = new ArrayList<>();
        List<Boolean> sure = new ArrayList<>();
        int wrong = 0;
        for (int i = 0; i < 10; i++) {
            if (wrong < 3 && r.nextDouble() < 0.08) {
                String alt;
                do alt = pool[r.nextInt(pool.length)]; while (alt.equals(answer));
                humans.add(alt);
                sure.add(false);
                wrong++;
            } else {
                humans.add(answer);
                sure.add(true);
            }
        }
        return new Asked(k, q, type, answerType, answer, humans, sure);
    }
}
