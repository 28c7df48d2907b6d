package dev.clipvil.bench;

import java.util.Map;

/** The {@link Work} of each benchmark, looked up by its class's simple name and its parameters. */
final class Workloads {
    private Workloads() {}

    /** The work of one operation, or null for a benchmark this table does not know. */
    static Work of(String benchClass, Map<String, String> params) {
        return switch (benchClass) {
            case "GemmBench" -> GemmBench.work(params);
            case "Conv2dBench" -> Conv2dBench.work(params);
            case "LayerNormBench" -> LayerNormBench.work(params);
            case "SoftmaxBench" -> SoftmaxBench.work(params);
            case "AttentionBench" -> AttentionBench.work(params);
            default -> null;
        };
    }
}
