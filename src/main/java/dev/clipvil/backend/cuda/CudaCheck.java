package dev.clipvil.backend.cuda;

import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.cudnn;
import org.bytedeco.cuda.global.nvrtc;
import org.bytedeco.javacpp.BytePointer;

/**
 * Error checks for every CUDA entry point: each throws {@link CudaException} naming the call (and
 * the kernel, for launches) with CUDA's own error name and text.
 */
final class CudaCheck {
    private CudaCheck() {}

    /** A CUDA runtime API status (cudaSuccess = 0). */
    static void rt(int err, String call) {
        if (err != 0) throw new CudaException(call + " failed: " + rtMessage(err));
    }

    /** A driver API status (CUDA_SUCCESS = 0). */
    static void drv(int err, String call) {
        if (err != 0) throw new CudaException(call + " failed: " + drvMessage(err));
    }

    static void blas(int status, String call) {
        if (status != 0) {
            String s;
            try {
                BytePointer p = cublas.cublasGetStatusString(status);
                s = p == null ? "status " + status : p.getString() + " (status " + status + ")";
            } catch (LinkageError e) {
                s = "status " + status;
            }
            throw new CudaException(call + " failed: " + s);
        }
    }

    /**
     * A cuDNN status (CUDNN_STATUS_SUCCESS = 0); the message adds cuDNN's own last-error text, which
     * in cuDNN 9 says which check failed.
     */
    static void dnn(int status, String call) {
        if (status != 0) {
            String s;
            try {
                BytePointer p = cudnn.cudnnGetErrorString(status);
                s = p == null ? "status " + status : p.getString() + " (status " + status + ")";
                try (BytePointer last = new BytePointer(512)) {
                    cudnn.cudnnGetLastErrorString(last, 512);
                    String l = last.getString().trim();
                    if (!l.isEmpty()) s += ": " + l.replace('\n', ' ');
                }
            } catch (LinkageError e) {
                s = "status " + status;
            }
            throw new CudaException(call + " failed: " + s);
        }
    }

    static void nvrtcCall(int result, String call) {
        if (result != 0) {
            String s;
            try {
                BytePointer p = nvrtc.nvrtcGetErrorString(result);
                s = p == null ? "result " + result : p.getString() + " (result " + result + ")";
            } catch (LinkageError e) {
                s = "result " + result;
            }
            throw new CudaException(call + " failed: " + s);
        }
    }

    static String rtMessage(int err) {
        try {
            BytePointer name = cudart.cudaGetErrorName(err);
            BytePointer text = cudart.cudaGetErrorString(err);
            return (name == null ? "error" : name.getString()) + " (" + err + "): " + (text == null ? "" : text.getString());
        } catch (LinkageError e) {
            return "error " + err;
        }
    }

    static String drvMessage(int err) {
        try {
            org.bytedeco.javacpp.PointerPointer<BytePointer> name = new org.bytedeco.javacpp.PointerPointer<>(1);
            org.bytedeco.javacpp.PointerPointer<BytePointer> text = new org.bytedeco.javacpp.PointerPointer<>(1);
            int e1 = cudart.cuGetErrorName(err, name);
            int e2 = cudart.cuGetErrorString(err, text);
            BytePointer np = e1 == 0 ? name.get(BytePointer.class, 0) : null;
            BytePointer tp = e2 == 0 ? text.get(BytePointer.class, 0) : null;
            String n = np == null || np.isNull() ? "CUresult" : np.getString();
            String t = tp == null || tp.isNull() ? "" : tp.getString();
            name.close();
            text.close();
            return n + " (" + err + "): " + t;
        } catch (LinkageError e) {
            return "CUresult " + err;
        }
    }
}
