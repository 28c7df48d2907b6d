package dev.clipvil.testing;

import dev.clipvil.backend.cuda.CudaBackend;
import dev.clipvil.backend.cuda.CudaRuntime;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * JUnit condition for GPU tests ({@code @ExtendWith(GpuAvailable.class)}, with {@code @Tag("gpu")}):
 * runs them when CUDA is usable here (registering the cuda:0 backend), else skips them and prints
 * why, once per test class, e.g. "SKIPPED CudaParityTest (no GPU): no NVIDIA driver found (...)".
 */
public final class GpuAvailable implements ExecutionCondition {
    private static final Set<String> PRINTED = ConcurrentHashMap.newKeySet();

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        CudaRuntime.Availability a = CudaRuntime.availability();
        String cls = context.getTestClass().map(Class::getSimpleName).orElse("?");
        if (!a.available()) {
            String reason = "no GPU: " + a.reason();
            if (PRINTED.add(cls)) System.out.println("SKIPPED " + cls + " (" + reason + ")");
            return ConditionEvaluationResult.disabled(reason);
        }
        CudaBackend.register(0);
        return ConditionEvaluationResult.enabled("CUDA available: " + a.deviceCount() + " device(s)");
    }
}
