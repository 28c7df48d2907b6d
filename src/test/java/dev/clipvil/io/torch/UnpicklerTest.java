package dev.clipvil.io.torch;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The restricted unpickler on hand-written pickle bytes: values, the allow-list, refusals and corrupt input. */
class UnpicklerTest {
    @TempDir
    Path dir;

    private static Object load(byte[] b) throws PickleException {
        return new Unpickler(b, "test.pkl", TorchCheckpoint::storageId).load();
    }

    private static String refusal(byte[] b, String... fragments) {
        PickleException e = assertThrows(PickleException.class, () -> load(b));
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' in: " + e.getMessage());
        assertTrue(e.getMessage().startsWith("test.pkl: ") || e.getMessage().startsWith("refusing"), e.getMessage());
        return e.getMessage();
    }

    private static byte[] bytes(int... xs) {
        byte[] b = new byte[xs.length];
        for (int i = 0; i < xs.length; i++) b[i] = (byte) xs[i];
        return b;
    }

    @Test
    void scalarsStringsAndContainers() throws PickleException {
        // {'a': (1, 300, -2, 70000), 'b': [None, True, False, 1.5], 'c': 'é', 'big': 2**70, 'neg': -129} in protocol 2
        PickleBytes p = new PickleBytes().proto(2).emptyDict().binPut(0).mark();
        p.str("a").ints(1, 300, -2, 70000);
        p.str("b").op(']').binPut(1).mark().none().bool(true).bool(false).op('G', 0x3f, 0xf8, 0, 0, 0, 0, 0, 0).op('e');
        p.str("c").op(0x8c, 2, 0xc3, 0xa9);                               // SHORT_BINUNICODE 'é'
        p.str("big").op(0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0x40);        // LONG1 2**70
        p.str("neg").op(0x8a, 2, 0x7f, 0xff);                          // LONG1 -129
        p.str("t").integer(7).op(0x85).integer(8).integer(9).op(0x86).op(0x86); // TUPLE2 of a TUPLE1 and a TUPLE2
        p.str("u").integer(1).integer(2).integer(3).op(0x87);                 // TUPLE3
        p.setItems().stop();
        @SuppressWarnings("unchecked")
        Map<Object, Object> m = (Map<Object, Object>) load(p.bytes());
        assertEquals(List.of("a", "b", "c", "big", "neg", "t", "u"), new ArrayList<>(m.keySet()));
        assertEquals(PyTuple.of(1L, 300L, -2L, 70000L), m.get("a"));
        List<?> b = (List<?>) m.get("b");
        assertNull(b.get(0));
        assertEquals(List.of(true, false, 1.5), b.subList(1, 4));
        assertEquals("é", m.get("c"));
        assertEquals(BigInteger.ONE.shiftLeft(70), m.get("big"));
        assertEquals(-129L, m.get("neg"));
        assertEquals(PyTuple.of(PyTuple.of(7L), PyTuple.of(8L, 9L)), m.get("t"));
        assertEquals(PyTuple.of(1L, 2L, 3L), m.get("u"));
    }

    @Test
    void memoSharesObjectsAndProtocol4FramesAndStackGlobal() throws PickleException {
        // protocol 4: FRAME, STACK_GLOBAL('collections', 'OrderedDict'), MEMOIZE, REDUCE, then the same list twice via the memo
        PickleBytes p = new PickleBytes().proto(4).op(0x95).le(40, 8);
        p.op(0x8c, 11).op("collections".chars().toArray()).op(0x94);
        p.op(0x8c, 11).op("OrderedDict".chars().toArray()).op(0x94).op(0x93).op(0x94);
        p.emptyTuple().reduce().op(0x94);                      // memo 3: the dict
        p.mark().str("x").op(']').op('r').le(4, 4).integer(5).op('a'); // LONG_BINPUT 4: the list
        p.str("y").op('j').le(4, 4).setItems().stop();          // LONG_BINGET 4
        Map<?, ?> m = (Map<?, ?>) load(p.bytes());
        assertEquals(List.of(5L), m.get("x"));
        assertSame(m.get("x"), m.get("y"), "the memo returns the same object");
    }

    @Test
    void rebuildsTensorReferencesFromPersistentIds() throws PickleException {
        byte[] b = new PickleBytes().proto(2).global("collections", "OrderedDict").emptyTuple().reduce().mark()
                .str("w").tensor("HalfStorage", "7", 24, 4, new long[] {2, 3}, new long[] {1, 2})
                .setItems().stop().bytes();
        Map<?, ?> m = (Map<?, ?>) load(b);
        TensorRef t = assertInstanceOf(TensorRef.class, m.get("w"));
        assertEquals(new StorageRef(StorageType.HalfStorage, "7", "cpu", 24), t.storage());
        assertEquals(4, t.offset());
        assertArrayEquals(new long[] {2, 3}, t.size());
        assertArrayEquals(new long[] {1, 2}, t.stride());
    }

    @Test
    void parametersAndTorchScriptObjectsAreInert() throws PickleException {
        PickleBytes p = new PickleBytes().proto(2).global("__torch__.model", "Net").emptyTuple().newObj().emptyDict().mark();
        p.str("weight").global("torch._utils", "_rebuild_parameter").mark()
                .tensor("FloatStorage", "0", 4, 0, new long[] {4}, new long[] {1}).bool(true)
                .global("collections", "OrderedDict").emptyTuple().reduce().tuple().reduce();
        p.str("training").bool(false).setItems().build().stop();
        ScriptObject o = assertInstanceOf(ScriptObject.class, load(p.bytes()));
        assertEquals("__torch__.model.Net", o.className());
        assertInstanceOf(TensorRef.class, o.attributes().get("weight"));
        assertEquals(false, o.attributes().get("training"));
    }

    /** The classic exploit: GLOBAL 'os system' then REDUCE with a shell command. It must be refused unexecuted. */
    @Test
    void refusesOsSystemWithoutRunningIt() throws Exception {
        Path marker = dir.resolve("pwned");
        String cmd = "touch " + marker;
        byte[] head = "\u0080\u0002cos\nsystem\nX".getBytes(StandardCharsets.ISO_8859_1);
        byte[] arg = cmd.getBytes(StandardCharsets.UTF_8);
        byte[] b = new byte[head.length + 4 + arg.length + 3];
        System.arraycopy(head, 0, b, 0, head.length);
        b[head.length] = (byte) arg.length;
        System.arraycopy(arg, 0, b, head.length + 4, arg.length);
        b[b.length - 3] = (byte) 0x85; // TUPLE1
        b[b.length - 2] = 'R';         // REDUCE
        b[b.length - 1] = '.';         // STOP
        String msg = refusal(b, "refusing to load global 'os.system' from test.pkl", "only state-dict objects are allowed", "nothing was executed");
        assertFalse(msg.contains("touch"), "the argument is never reached: " + msg);
        assertFalse(Files.exists(marker), "nothing was executed");
    }

    @Test
    void refusesEveryOtherGlobalByName() {
        String[][] bad = {{"builtins", "eval"}, {"posix", "system"}, {"__builtin__", "getattr"}, {"subprocess", "Popen"},
                {"torch", "load"}, {"torch._utils", "_rebuild_qtensor"}, {"collections", "defaultdict"}, {"model", "CLIP"},
                {"torch", "FloatTensor"}, {"__torch__.model", "not an identifier"}};
        for (String[] g : bad) {
            refusal(new PickleBytes().proto(2).global(g[0], g[1]).emptyTuple().reduce().stop().bytes(),
                    "refusing to load global '" + g[0] + "." + g[1] + "'");
        }
        // STACK_GLOBAL is checked the same way
        byte[] sg = new PickleBytes().proto(4).op(0x8c, 8).op("builtins".chars().toArray()).op(0x8c, 4).op("exec".chars().toArray())
                .op(0x93).stop().bytes();
        refusal(sg, "refusing to load global 'builtins.exec'");
    }

    @Test
    void refusesCallingOrInstantiatingAnythingButTheStandIns() {
        refusal(new PickleBytes().proto(2).global("torch", "FloatStorage").emptyTuple().reduce().stop().bytes(),
                "refusing to call torch.FloatStorage with REDUCE");
        refusal(new PickleBytes().proto(2).global("collections", "OrderedDict").emptyTuple().newObj().stop().bytes(),
                "refusing to instantiate collections.OrderedDict with NEWOBJ");
        refusal(new PickleBytes().proto(2).mark().global("collections", "OrderedDict").op('o').stop().bytes(), "refusing the OBJ opcode");
        refusal(new PickleBytes().proto(2).mark().op('i').op("os\nsystem\n".chars().toArray()).stop().bytes(), "refusing the INST opcode");
        refusal(new PickleBytes().proto(2).op(0x82, 1).stop().bytes(), "EXT opcode");
        refusal(new PickleBytes().proto(2).integer(1).emptyDict().build().stop().bytes(), "refusing BUILD on a int");
        refusal(new PickleBytes().proto(2).str("x").binPersId().stop().bytes(), "unsupported persistent id 'x'");
    }

    @Test
    void malformedAndTruncatedInput() {
        refusal(new byte[0], "truncated", "without a STOP");
        refusal(bytes(0x80, 2, 'K'), "truncated: needs 1 more bytes");
        refusal(bytes(0x80, 2, 'X', 0xff, 0xff, 0xff, 0x7f, 'a'), "truncated: needs 2147483647 more bytes");   // no huge allocation
        refusal(bytes(0x80, 2, 0x8d, 0, 0, 0, 0, 0, 0, 0, 0x80), "negative BINUNICODE8 length");
        refusal(bytes(0x80, 2, 0xff), "bad opcode 0xff");
        refusal(bytes(0x80, 2, 'R', '.'), "stack underflow");
        refusal(bytes(0x80, 2, 'h', 3, '.'), "memo entry 3 was never stored");
        refusal(bytes(0x80, 2, 't', '.'), "no MARK");
        refusal(bytes(0x80, 2, 'N', 'N', '.'), "STOP with 2 values");
        refusal(bytes(0x80, 2, 'c', 'o', 's'), "GLOBAL module has no end of line");
        refusal(bytes(0x80, 9, 'N', '.'), "protocol 9");
        refusal(bytes('I', '1', '\n', '.'), "text opcode 'I'");
        refusal(bytes(0x80, 2, ']', '}', 's', '.'), "stack underflow");
        refusal(bytes(0x80, 2, '}', ']', 'N', 's', '.'), "unhashable list");
        refusal(bytes(0x80, 2, '}', ']', 0x85, 'N', 's', '.'), "unhashable tuple");
        byte[] deep = new byte[3 + 200 + 1];                                   // None wrapped in 200 TUPLE1s
        deep[0] = (byte) 0x80;
        deep[1] = 2;
        deep[2] = 'N';
        Arrays.fill(deep, 3, 203, (byte) 0x85);
        deep[203] = '.';
        refusal(deep, "tuples nested deeper than 100 levels");
        refusal(new PickleBytes().proto(2).global("torch._utils", "_rebuild_tensor_v2").mark().integer(1).tuple().reduce().stop().bytes(),
                "torch._utils._rebuild_tensor_v2: expected 6 to 7 arguments, got 1");
    }

    @Test
    void orderedDictFromPairs() throws PickleException {
        byte[] b = new PickleBytes().proto(2).global("collections", "OrderedDict").op(']').mark()
                .str("k").integer(1).op(0x86).str("j").integer(2).op(0x86).op('e').op(0x85).reduce().stop().bytes();
        Map<Object, Object> want = new LinkedHashMap<>();
        want.put("k", 1L);
        want.put("j", 2L);
        assertEquals(want, load(b));
    }
}
