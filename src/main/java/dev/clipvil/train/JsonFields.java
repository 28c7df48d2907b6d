package dev.clipvil.train;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;

import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Typed reads of JSON fields whose failures name the key by its dotted path ({@code scheduler_steps.fusion})
 * and say what was expected and found. They throw {@link IllegalArgumentException}; callers that know the
 * file prefix its name.
 */
final class JsonFields {
    private JsonFields() {}

    static String path(String prefix, String key) { return prefix.isEmpty() ? key : prefix + "." + key; }

    static JsonElement require(JsonObject o, String prefix, String key) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) throw new IllegalArgumentException("key \"" + path(prefix, key) + "\" is missing");
        return e;
    }

    static long nonNegativeLong(JsonObject o, String prefix, String key) {
        return nonNegativeLong(require(o, prefix, key), path(prefix, key));
    }

    static long nonNegativeLong(JsonElement e, String path) {
        long v = anyLong(e, path);
        if (v < 0) throw new IllegalArgumentException("key \"" + path + "\" must be >= 0, got " + v);
        return v;
    }

    static long anyLong(JsonObject o, String prefix, String key) { return anyLong(require(o, prefix, key), path(prefix, key)); }

    static long anyLong(JsonElement e, String path) {
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
            try {
                return new BigDecimal(e.getAsJsonPrimitive().getAsString()).longValueExact();
            } catch (ArithmeticException | NumberFormatException ignored) {
                // reported below
            }
        }
        throw new IllegalArgumentException("key \"" + path + "\" must be an integer, got " + e);
    }

    static int nonNegativeInt(JsonObject o, String prefix, String key) {
        long v = nonNegativeLong(o, prefix, key);
        if (v > Integer.MAX_VALUE) throw new IllegalArgumentException("key \"" + path(prefix, key) + "\" is too large: " + v);
        return (int) v;
    }

    /** A finite number, or NaN where the key is absent or null and {@code optional}. */
    static double number(JsonObject o, String prefix, String key, boolean optional) {
        JsonElement e = o.get(key);
        if (optional && (e == null || e.isJsonNull())) return Double.NaN;
        e = require(o, prefix, key);
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
            double v = e.getAsDouble();
            if (Double.isFinite(v)) return v;
        }
        throw new IllegalArgumentException("key \"" + path(prefix, key) + "\" must be a finite number, got " + e);
    }

    static String string(JsonObject o, String prefix, String key) {
        JsonElement e = require(o, prefix, key);
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isString()) return e.getAsString();
        throw new IllegalArgumentException("key \"" + path(prefix, key) + "\" must be a string, got " + e);
    }

    static JsonObject object(JsonObject o, String prefix, String key) {
        JsonElement e = require(o, prefix, key);
        if (e.isJsonObject()) return e.getAsJsonObject();
        throw new IllegalArgumentException("key \"" + path(prefix, key) + "\" must be a JSON object, got " + e);
    }

    /** An object of name -> non-negative integer, in file order. */
    static LinkedHashMap<String, Long> counts(JsonObject o, String prefix, String key) {
        JsonObject m = object(o, prefix, key);
        LinkedHashMap<String, Long> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : m.entrySet()) out.put(e.getKey(), nonNegativeLong(e.getValue(), path(path(prefix, key), e.getKey())));
        return out;
    }

    static JsonObject counts(Map<String, Long> m) {
        JsonObject o = new JsonObject();
        for (Map.Entry<String, Long> e : m.entrySet()) o.add(e.getKey(), new JsonPrimitive(e.getValue()));
        return o;
    }

    /** A JSON number, or JSON null for NaN (JSON has no NaN). */
    static JsonElement numberOrNull(double v) {
        return Double.isNaN(v) ? com.google.gson.JsonNull.INSTANCE : new JsonPrimitive(v);
    }
}
