package dev.clipvil.train;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.labels.XYItemLabelGenerator;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Draws {@code RUN_DIR/curves.png} from the records of {@code metrics.jsonl} with JFreeChart, headless:
 * an upper panel with the training loss over steps (each record faint, a moving average bold) and a
 * lower panel with the evaluation accuracy at the end of each epoch (overall and per answer type,
 * each point labelled with its epoch), sharing the step axis.
 */
public final class CurvesPlot {
    static {
        System.setProperty("java.awt.headless", "true");
    }

    public static final int WIDTH = 1200;
    public static final int HEIGHT = 800;
    private static final Color[] ACCURACY_COLORS = {
            new Color(0xd6, 0x27, 0x28), new Color(0x2c, 0xa0, 0x2c), new Color(0x94, 0x67, 0xbd),
            new Color(0xff, 0x7f, 0x0e), new Color(0x8c, 0x56, 0x4b), new Color(0x17, 0xbe, 0xcf)};

    private CurvesPlot() {}

    /** Reads {@code metrics} and writes the chart to {@code png} atomically ({@link #WIDTH} x {@link #HEIGHT}). */
    public static void write(Path metrics, Path png, String title) throws IOException {
        write(metrics, png, title, WIDTH, HEIGHT);
    }

    /** {@link #write(Path, Path, String)} at another size in pixels. */
    public static void write(Path metrics, Path png, String title, int width, int height) throws IOException {
        if (width < 100 || height < 100) throw new IllegalArgumentException("curves: image size must be at least 100 x 100, got " + width + " x " + height);
        BufferedImage image = render(MetricsLog.read(metrics), title, width, height);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ChartUtils.writeBufferedImageAsPNG(bytes, image);
        AtomicFiles.replace(png, bytes.toByteArray());
    }

    /** The chart of {@code records} ({@code "train"} and {@code "eval"} kinds; others are ignored). */
    public static BufferedImage render(List<JsonObject> records, String title, int width, int height) {
        XYSeries raw = new XYSeries("loss per record", false, true);
        Map<String, XYSeries> accuracy = new LinkedHashMap<>();
        List<Integer> epochs = new ArrayList<>();
        XYSeries overall = new XYSeries("accuracy", false, true);
        for (JsonObject r : records) {
            String kind = text(r, "kind");
            double step = number(r, "step");
            if ("train".equals(kind)) {
                double loss = number(r, "loss");
                if (Double.isFinite(step) && Double.isFinite(loss)) raw.add(step, loss);
            } else if ("eval".equals(kind)) {
                double acc = number(r, "accuracy");
                if (!Double.isFinite(step) || !Double.isFinite(acc)) continue;
                overall.add(step, acc);
                double epoch = number(r, "epoch");
                epochs.add(Double.isFinite(epoch) ? (int) epoch : overall.getItemCount() - 1);
                JsonElement byType = r.get("accuracy_by_type");
                if (byType != null && byType.isJsonObject()) {
                    for (var e : byType.getAsJsonObject().entrySet()) {
                        if (e.getValue().isJsonPrimitive() && e.getValue().getAsJsonPrimitive().isNumber()) {
                            accuracy.computeIfAbsent(e.getKey(), k -> new XYSeries(k, false, true)).add(step, e.getValue().getAsDouble());
                        }
                    }
                }
            }
        }

        XYSeriesCollection lossData = new XYSeriesCollection();
        lossData.addSeries(smoothed(raw, window(raw.getItemCount())));
        lossData.addSeries(raw);
        XYLineAndShapeRenderer lossLines = new XYLineAndShapeRenderer(true, false);
        lossLines.setSeriesPaint(0, new Color(0x1f, 0x77, 0xb4));
        lossLines.setSeriesStroke(0, new BasicStroke(2.5f));
        lossLines.setSeriesPaint(1, new Color(0x1f, 0x77, 0xb4, 60));
        lossLines.setSeriesStroke(1, new BasicStroke(1f));
        NumberAxis lossAxis = new NumberAxis("training loss");
        lossAxis.setAutoRangeIncludesZero(false);
        XYPlot lossPlot = new XYPlot(lossData, null, lossAxis, lossLines);
        lossPlot.setNoDataMessage("no training records yet");

        XYSeriesCollection accData = new XYSeriesCollection();
        accData.addSeries(overall);
        for (XYSeries s : accuracy.values()) accData.addSeries(s);
        XYLineAndShapeRenderer accLines = new XYLineAndShapeRenderer(true, true);
        for (int i = 0; i < accData.getSeriesCount(); i++) {
            accLines.setSeriesPaint(i, ACCURACY_COLORS[i % ACCURACY_COLORS.length]);
            accLines.setSeriesStroke(i, new BasicStroke(i == 0 ? 2.5f : 1.2f));
        }
        XYItemLabelGenerator epochLabel = (data, series, item) -> series == 0 && item < epochs.size() ? "epoch " + epochs.get(item) : null;
        accLines.setSeriesItemLabelGenerator(0, epochLabel);
        accLines.setSeriesItemLabelsVisible(0, true);
        accLines.setSeriesItemLabelFont(0, new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        double maxAcc = accData.getSeriesCount() == 0 || overall.getItemCount() == 0 ? 1 : maxY(accData);
        NumberAxis accAxis = new NumberAxis(maxAcc > 1.0001 ? "eval accuracy (%)" : "eval accuracy");
        accAxis.setRange(0, maxAcc > 1.0001 ? 105 : 1.05);
        XYPlot accPlot = new XYPlot(accData, null, accAxis, accLines);
        accPlot.setNoDataMessage("no evaluation yet");

        NumberAxis stepAxis = new NumberAxis("step");
        stepAxis.setAutoRangeIncludesZero(true);
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(stepAxis);
        plot.setGap(12);
        plot.add(lossPlot, 3);
        plot.add(accPlot, 2);
        for (XYPlot p : List.of(lossPlot, accPlot)) {
            p.setBackgroundPaint(Color.WHITE);
            p.setDomainGridlinePaint(new Color(0xdd, 0xdd, 0xdd));
            p.setRangeGridlinePaint(new Color(0xdd, 0xdd, 0xdd));
        }
        JFreeChart chart = new JFreeChart(title, new Font(Font.SANS_SERIF, Font.BOLD, 18), plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        chart.addSubtitle(new TextTitle(summary(raw, overall, epochs), new Font(Font.SANS_SERIF, Font.PLAIN, 12)));
        return chart.createBufferedImage(width, height);
    }

    /** A moving-average window that gives a readable line: about 1/30 of the points, 1 to 100. */
    static int window(int n) { return Math.max(1, Math.min(100, Math.round(n / 30f))); }

    /** The trailing mean of each point and the {@code window - 1} before it. */
    static XYSeries smoothed(XYSeries raw, int window) {
        XYSeries out = new XYSeries("loss (moving average of " + window + ")", false, true);
        double sum = 0;
        for (int i = 0; i < raw.getItemCount(); i++) {
            sum += raw.getY(i).doubleValue();
            if (i >= window) sum -= raw.getY(i - window).doubleValue();
            out.add(raw.getX(i), sum / Math.min(i + 1, window));
        }
        return out;
    }

    private static String summary(XYSeries loss, XYSeries accuracy, List<Integer> epochs) {
        if (loss.getItemCount() == 0 && accuracy.getItemCount() == 0) return "no records yet";
        StringBuilder s = new StringBuilder();
        if (loss.getItemCount() > 0) {
            s.append(String.format("step %.0f, last loss %.4g", loss.getMaxX(), loss.getY(loss.getItemCount() - 1).doubleValue()));
        }
        if (accuracy.getItemCount() > 0) {
            if (!s.isEmpty()) s.append("; ");
            int last = accuracy.getItemCount() - 1;
            s.append(String.format("epoch %d accuracy %.2f, best %.2f", epochs.get(last), accuracy.getY(last).doubleValue(), accuracy.getMaxY()));
        }
        return s.toString();
    }

    private static double maxY(XYSeriesCollection c) {
        double m = 0;
        for (int i = 0; i < c.getSeriesCount(); i++) if (c.getSeries(i).getItemCount() > 0) m = Math.max(m, c.getSeries(i).getMaxY());
        return m;
    }

    private static String text(JsonObject o, String key) {
        JsonElement e = o.get(key);
        return e != null && e.isJsonPrimitive() ? e.getAsString() : null;
    }

    private static double number(JsonObject o, String key) {
        JsonElement e = o.get(key);
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber() ? e.getAsDouble() : Double.NaN;
    }
}
