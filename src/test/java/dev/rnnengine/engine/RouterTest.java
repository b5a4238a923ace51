package dev.rnnengine.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code auto}'s split, asserted by where the calls went (not by the model's name). */
class RouterTest {
    /** A prepared model that only records the batches it was given. */
    private static final class Recorder implements PreparedModel {
        final String name;
        final List<Integer> batches = new ArrayList<>();
        boolean closed;

        Recorder(String name) {
            this.name = name;
        }

        @Override
        public void forward(Call call) {
            batches.add(call.batch);
        }

        @Override
        public String backendName() {
            return name;
        }

        @Override
        public int threads() {
            return 1;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    @Test
    void batchesFromTheSplitPointGoToTheBatchedBackend() {
        Recorder small = new Recorder("vector");
        Recorder batched = new Recorder("onednn");
        Router r = new Router(small, batched);
        for (int n : new int[] {1, 15, 16, 17, 64, 2}) {
            Call c = new Call();
            c.batch = n;
            r.forward(c);
        }
        assertEquals(List.of(1, 15, 2), small.batches);
        assertEquals(List.of(16, 17, 64), batched.batches);
        assertEquals("vector+onednn", r.backendName());
        r.close();
        assertEquals(true, small.closed && batched.closed, "both sides closed");
    }
}
