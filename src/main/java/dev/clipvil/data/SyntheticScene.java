package dev.clipvil.data;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One synthetic VQA picture: 1 to 3 objects, each a distinct shape in a distinct colour in its own
 * quadrant of a plain background. Distinct shapes and colours keep every question about "the circle" or
 * "the red object" unambiguous; the quadrant gives each object a left/right and a top/bottom half.
 */
record SyntheticScene(int background, List<Item> objects) {
    static final String[] SHAPES = {"circle", "square", "triangle"};
    static final String[] COLORS = {"red", "green", "blue", "yellow"};
    private static final Color[] RGB = {new Color(220, 30, 30), new Color(30, 170, 40), new Color(30, 60, 220), new Color(240, 210, 20)};

    /** One object: shape, colour, and its quadrant (left or right half, top or bottom half). */
    record Item(String shape, String color, boolean left, boolean top) {
        String horizontal() {
            return left ? "left" : "right";
        }

        String vertical() {
            return top ? "top" : "bottom";
        }
    }

    SyntheticScene {
        objects = List.copyOf(objects);
    }

    static SyntheticScene random(SplittableRandom r) {
        int n = 1 + r.nextInt(3);
        int[] shapes = permutation(SHAPES.length, r), colors = permutation(COLORS.length, r), cells = permutation(4, r);
        List<Item> items = new ArrayList<>();
        for (int i = 0; i < n; i++)
            items.add(new Item(SHAPES[shapes[i]], COLORS[colors[i]], cells[i] % 2 == 0, cells[i] < 2));
        return new SyntheticScene(r.nextInt(190, 246), items);
    }

    Item find(String shape) {
        for (Item it : objects) if (it.shape().equals(shape)) return it;
        return null;
    }

    boolean has(String color, String shape) {
        for (Item it : objects) if (it.shape().equals(shape) && it.color().equals(color)) return true;
        return false;
    }

    /** Draws the scene at size x size; the per-object jitter comes from r (so the same seed, same pixels). */
    BufferedImage render(int size, SplittableRandom r) {
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(new Color(background, background, background));
            g.fillRect(0, 0, size, size);
            int cell = size / 2;
            for (Item it : objects) {
                int side = Math.max(4, (int) (cell * r.nextDouble(0.55, 0.8)));
                int x = (it.left() ? 0 : cell) + r.nextInt(0, cell - side + 1);
                int y = (it.top() ? 0 : cell) + r.nextInt(0, cell - side + 1);
                g.setColor(RGB[indexOf(COLORS, it.color())]);
                switch (it.shape()) {
                    case "circle" -> g.fillOval(x, y, side, side);
                    case "square" -> g.fillRect(x, y, side, side);
                    default -> g.fillPolygon(new int[] {x, x + side / 2, x + side}, new int[] {y + side, y, y + side}, 3);
                }
            }
        } finally {
            g.dispose();
        }
        return img;
    }

    static int indexOf(String[] names, String name) {
        for (int i = 0; i < names.length; i++) if (names[i].equals(name)) return i;
        throw new IllegalArgumentException("synthetic scene: unknown name " + name);
    }

    private static int[] permutation(int n, SplittableRandom r) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1), t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
