package dev.clipvil.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Image/caption pairs from a CSV file with a header naming the columns {@code image} and
 * {@code caption} (any order, other columns ignored; RFC 4180 quoting, quoted fields may hold commas,
 * doubled quotes and newlines). Image paths are relative to the CSV's folder unless absolute.
 */
record PairsCsv(List<Path> images, List<String> captions) {

    static PairsCsv read(Path csv) throws IOException {
        List<List<String>> rows = parse(Files.readString(csv, StandardCharsets.UTF_8), csv);
        if (rows.isEmpty()) throw new IllegalArgumentException(csv + ": empty; expected a header with the columns image,caption");
        List<String> header = rows.get(0).stream().map(s -> s.strip().toLowerCase(Locale.ROOT)).toList();
        int ic = header.indexOf("image"), cc = header.indexOf("caption");
        if (ic < 0 || cc < 0) throw new IllegalArgumentException(csv + ": the header " + rows.get(0) + " lacks the column " + (ic < 0 ? "'image'" : "'caption'"));
        Path base = csv.toAbsolutePath().getParent();
        List<Path> images = new ArrayList<>();
        List<String> captions = new ArrayList<>();
        for (int r = 1; r < rows.size(); r++) {
            List<String> row = rows.get(r);
            if (row.size() == 1 && row.get(0).isBlank()) continue;
            if (row.size() <= Math.max(ic, cc)) throw new IllegalArgumentException(csv + ": row " + (r + 1) + " has " + row.size() + " fields, the header " + header.size());
            String img = row.get(ic).strip(), cap = row.get(cc).strip();
            if (img.isEmpty() || cap.isEmpty()) throw new IllegalArgumentException(csv + ": row " + (r + 1) + " has an empty " + (img.isEmpty() ? "image" : "caption"));
            Path p = base.resolve(img);
            if (!Files.isRegularFile(p)) throw new NoSuchFileException(p.toString(), null, csv + " row " + (r + 1));
            images.add(p);
            captions.add(cap);
        }
        if (images.isEmpty()) throw new IllegalArgumentException(csv + ": no pairs after the header");
        return new PairsCsv(images, captions);
    }

    /** The records of {@code text}: fields split at commas outside quotes, records at newlines outside quotes. */
    static List<List<String>> parse(String text, Path file) {
        List<List<String>> rows = new ArrayList<>();
        List<String> row = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        boolean quoted = false;
        int i = 0, n = text.length();
        if (n > 0 && text.charAt(0) == '\uFEFF') i = 1;
        for (; i < n; i++) {
            char c = text.charAt(i);
            if (quoted) {
                if (c == '"') {
                    if (i + 1 < n && text.charAt(i + 1) == '"') {
                        field.append('"');
                        i++;
                    } else {
                        quoted = false;
                    }
                } else {
                    field.append(c);
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                row.add(field.toString());
                field.setLength(0);
            } else if (c == '\n' || c == '\r') {
                if (c == '\r' && i + 1 < n && text.charAt(i + 1) == '\n') i++;
                row.add(field.toString());
                field.setLength(0);
                rows.add(row);
                row = new ArrayList<>();
            } else {
                field.append(c);
            }
        }
        if (quoted) throw new IllegalArgumentException(file + ": a quoted field is not closed");
        if (field.length() > 0 || !row.isEmpty()) {
            row.add(field.toString());
            rows.add(row);
        }
        return rows;
    }
}
