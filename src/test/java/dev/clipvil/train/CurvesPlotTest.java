package dev.clipvil.train;

import org.jfree.data.xy.XYSeries;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** curves.png: decodes, has the chart's size, is drawn (not blank), is written atomically. */
class CurvesPlotTest {
    @TempDir Path dir;

    private static BufferedImage decode(Path png) throws IOException {
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, "ImageIO decodes " + png);
        return img;
    }

    /** Distinct colours and the share of pixels that are not white. */
    private static double[] ink(BufferedImage img) {
        Set<Integer> colours = new HashSet<>();
        long dark = 0;
        for (int y = 0; y < img.getHeight(); y += 2) {
            for (int x = 0; x < img.getWidth(); x += 2) {
                int rgb = img.getRGB(x, y) & 0xffffff;
                colours.add(rgb);
                if (rgb != 0xffffff) dark++;
            }
        }
        return new double[] {colours.size(), dark / (img.getWidth() * img.getHeight() / 4.0)};
    }

    @Test
    void drawsLossAndAccuracy() throws IOException {
        Path metrics = dir.resolve("metrics.jsonl");
        try (MetricsLog log = MetricsLog.create(metrics)) {
            for (int s = 1; s <= 300; s++) {
                int epoch = (s - 1) / 100;
                log.log(new MetricsLog.Train(s, epoch, 3 * Math.exp(-s / 80.0) + 0.2 * Math.sin(s), Map.of("fusion", 1e-4), 100, s * 32L, s));
                if (s % 100 == 0) {
                    log.log(new MetricsLog.Eval(s, epoch, 30 + 20 * epoch, Map.of("yes/no", 50.0 + 15 * epoch, "number", 10.0 + 10 * epoch), 500, s));
                }
            }
        }
        Path png = dir.resolve("curves.png");
        CurvesPlot.write(metrics, png, "clipvil train: synthetic VQA", 640, 480);
        BufferedImage img = decode(png);
        assertEquals(640, img.getWidth());
        assertEquals(480, img.getHeight());
        double[] ink = ink(img);
        assertTrue(ink[0] > 20, "many colours (lines, text, faint raw curve): " + ink[0]);
        assertTrue(ink[1] > 0.01 && ink[1] < 0.6, "some but not all pixels drawn: " + ink[1]);
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of("curves.png", "metrics.jsonl"), s.map(p -> p.getFileName().toString()).sorted().toList(), "no temporary left");
        }
    }

    @Test
    void anEmptyLogStillGivesAPicture() throws IOException {
        Path metrics = dir.resolve("metrics.jsonl");
        MetricsLog.create(metrics).close();
        Path png = dir.resolve("curves.png");
        CurvesPlot.write(metrics, png, "nothing yet", 320, 240);
        BufferedImage img = decode(png);
        assertEquals(320, img.getWidth());
        assertEquals(240, img.getHeight());
        assertTrue(ink(img)[1] > 0.001, "title and axes are drawn");
    }

    @Test
    void smoothingIsATrailingMean() {
        XYSeries raw = new XYSeries("r", false, true);
        double[] y = {4, 2, 6, 0, 8};
        for (int i = 0; i < y.length; i++) raw.add(i, y[i]);
        XYSeries s = CurvesPlot.smoothed(raw, 2);
        double[] expected = {4, 3, 4, 3, 4};
        for (int i = 0; i < y.length; i++) assertEquals(expected[i], s.getY(i).doubleValue(), 1e-12);
        assertEquals(1, CurvesPlot.window(10));
        assertEquals(10, CurvesPlot.window(300));
        assertEquals(100, CurvesPlot.window(1_000_000));
    }
}
