package dev.rnnengine.internal.ffm;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The binding's own checks: version refusal and the status helper's messages. */
class OneDnnTest {
    @Test
    void onlyOneDnn3IsAccepted() {
        assertDoesNotThrow(() -> OneDnn.checkVersion(3, 13, "x"));
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
            () -> OneDnn.checkVersion(2, 6, "/usr/lib/libdnnl.so.2"));
        assertTrue(e.getMessage().contains("oneDNN 2.6") && e.getMessage().contains("needs oneDNN 3.x")
            && e.getMessage().contains("org.bytedeco:dnnl"), e.getMessage());
    }

    @Test
    void aFailedStatusNamesTheFunctionAndTheStatus() {
        OneDnn dnnl = OneDnn.get();
        assertDoesNotThrow(() -> dnnl.check(0, "dnnl_anything"));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> dnnl.check(3, "dnnl_some_call"));
        assertTrue(e.getMessage().startsWith("dnnl_some_call failed") && e.getMessage().contains("unimplemented"),
            e.getMessage());
    }

    @Test
    void oneDnnRefusesABadDescriptorAndSaysWhere() {
        OneDnn dnnl = OneDnn.get();
        try (OneDnn.Handles h = dnnl.handles()) {
            // An LSTM whose weights do not fit its input: oneDNN rejects it, named by function.
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> h.lstmPd(
                OneDnn.UNIDIRECTIONAL, h.md(OneDnn.TAG_TNC, 2, 1, 3), h.md(OneDnn.TAG_LDNC, 1, 1, 1, 4),
                h.md(OneDnn.TAG_LDNC, 1, 1, 1, 4), h.md(OneDnn.TAG_ANY, 1, 1, 5, 4, 4),
                h.md(OneDnn.TAG_ANY, 1, 1, 4, 4, 4), java.lang.foreign.MemorySegment.NULL,
                h.md(OneDnn.TAG_ANY, 1, 1, 4, 4), h.md(OneDnn.TAG_TNC, 2, 1, 4), h.md(OneDnn.TAG_LDNC, 1, 1, 1, 4),
                h.md(OneDnn.TAG_LDNC, 1, 1, 1, 4), java.lang.foreign.MemorySegment.NULL));
            assertTrue(e.getMessage().startsWith("dnnl_lstm_forward_primitive_desc_create failed"), e.getMessage());
        }
    }
}
