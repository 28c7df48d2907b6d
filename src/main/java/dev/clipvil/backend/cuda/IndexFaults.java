package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.ShapeException;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.BytePointer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A device's record of the first out-of-range index that a device-side check found (kernels/index.cu
 * {@code index_check}), read at the next host synchronisation instead of at the call.
 *
 * <p>Why deferred: reading a verdict at every gather or loss would put a host synchronisation in every
 * embedding lookup and cross-entropy (a stall in each eager step) and would make any step with one
 * impossible to capture in a CUDA graph. So a check only records: each call site registers its
 * description once ({@link #register}: "index_select ... for dimension 0 of size 49408 ..."), the check
 * kernel stores (that id, position) and the bad value in a 16-byte device record, and the kernels that
 * use the indices skip a bad one instead of reading outside the tensor. {@link CudaContext#synchronize}
 * copies the record to pinned memory ahead of its wait when a check ran since the last look, and throws
 * the described {@link ShapeException} after it, clearing the record. Run with {@code CLIPVIL_CUDA_SYNC=1}
 * (a synchronisation after every launch) to have it thrown by the call that caused it.
 *
 * <p>Record layout: word 0 = (check id &lt;&lt; 32) | position, 0 while no check failed (ids start at
 * 1); word 1 = the offending index. The first failing thread wins (atomicCAS on word 0).
 */
final class IndexFaults {
    static final int RECORD_BYTES = 16;
    /** Distinct descriptions kept; later call sites report a generic one (ids of a graph stay valid: none is ever evicted). */
    static final int MAX_SITES = 1 << 16;

    private final CudaContext ctx;
    private final long device;
    private final RawPointer pinned = new RawPointer();
    private final RawPointer devPtr = new RawPointer();
    private final ByteBuffer host;
    private final Map<String, Integer> ids = new HashMap<>();
    private final List<String> sites = new ArrayList<>();
    private volatile boolean pending;
    private boolean copyQueued;

    /** Allocated with the context, outside any graph's memory pool; zeroed before first use. */
    IndexFaults(CudaContext ctx, boolean dryRun) {
        this.ctx = ctx;
        sites.add(null); // id 0: "no fault"
        if (dryRun) {
            device = 0x7fff_0000L; // never dereferenced: dry-run launches only record their arguments
            host = ByteBuffer.allocateDirect(RECORD_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            return;
        }
        RawPointer d = new RawPointer();
        CudaCheck.rt(cudart.cudaMalloc(d, RECORD_BYTES), "cudaMalloc(" + RECORD_BYTES + " bytes) for the index-fault record of " + ctx.device());
        device = d.address();
        // on the context's stream (non-blocking, so not ordered after the legacy stream a plain cudaMemset would use)
        CudaCheck.rt(cudart.cudaMemsetAsync(devPtr.at(device), 0, RECORD_BYTES, ctx.stream()), "cudaMemsetAsync (index-fault record)");
        CudaCheck.rt(cudart.cudaMallocHost(pinned, RECORD_BYTES), "cudaMallocHost(" + RECORD_BYTES + " bytes) for the index-fault record of " + ctx.device());
        host = new BytePointer(pinned).capacity(RECORD_BYTES).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The device address of the record (a kernel argument of the check). */
    long address() { return device; }

    /**
     * The id of the call site {@code description} ("op: ... is out of range" follows in the report,
     * so it reads e.g. "for dimension 0 of size 5 in shape [5, 3]"), registering it on first use; the
     * caller is about to launch a check, so the next synchronisation looks at the record.
     */
    synchronized int register(String op, String description) {
        pending = true;
        String site = op + "\u0000" + description;
        Integer id = ids.get(site);
        if (id != null) return id;
        if (sites.size() >= MAX_SITES) return MAX_SITES;
        int k = sites.size();
        sites.add(site);
        ids.put(site, k);
        return k;
    }

    /** A captured graph may hold checks: its replay makes the next synchronisation look at the record. */
    void replayed() { pending = true; }

    /** Before a stream synchronisation: queue the record's copy to pinned memory when a check ran since the last look. */
    synchronized void beforeSync() {
        if (!pending || ctx.dryRun()) return;
        CudaCheck.rt(cudart.cudaMemcpyAsync(pinned, devPtr.at(device), RECORD_BYTES, cudart.cudaMemcpyDeviceToHost, ctx.stream()),
                "cudaMemcpyAsync (index-fault record)");
        copyQueued = true;
        pending = false;
    }

    /** After the synchronisation: throws the recorded fault, if any, and clears the record. */
    synchronized void afterSync() {
        if (!copyQueued) return;
        copyQueued = false;
        long word = host.getLong(0), value = host.getLong(8);
        if (word == 0) return;
        host.putLong(0, 0).putLong(8, 0);
        CudaCheck.rt(cudart.cudaMemsetAsync(devPtr.at(device), 0, RECORD_BYTES, ctx.stream()), "cudaMemsetAsync (index-fault record)");
        throw fault(word, value);
    }

    /** The error for record word {@code word} and offending index {@code value}. */
    synchronized ShapeException fault(long word, long value) {
        int id = (int) (word >>> 32);
        long position = word & 0xffff_ffffL;
        String site = id > 0 && id < sites.size() ? sites.get(id) : null;
        String op = "an index check", description = "(its call site was not kept: more than " + MAX_SITES + " distinct sites)";
        if (site != null) {
            int cut = site.indexOf('\u0000');
            op = site.substring(0, cut);
            description = site.substring(cut + 1);
        }
        return new ShapeException(op + ": index " + value + " (at position " + position + ") is out of range " + description
                + "; found on " + ctx.device() + " by the device-side index check and reported at the next synchronisation (the kernel"
                + " skipped it; CLIPVIL_CUDA_SYNC=1 reports it at the call)");
    }
}
