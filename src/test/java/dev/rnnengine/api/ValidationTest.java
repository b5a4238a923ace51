package dev.rnnengine.api;

import dev.rnnengine.Fixtures;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.api.RnnState;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every PyTorch error path, with PyTorch's words, on every backend under test. */
class ValidationTest {
    static Stream<String> backends() {
        return Fixtures.expectedBackends().stream();
    }

    private static RnnModel model(RnnSpec spec, String backend) {
        return RnnModel.create(spec, StateDicts.random(spec, 1), EngineOptions.defaults().withBackend(backend));
    }

    private static void assertMessage(String expected, Throwable t) {
        assertEquals(expected, t.getMessage());
    }

    @Test
    void specValidationUsesPyTorchMessages() {
        assertMessage("hidden_size must be greater than zero",
            assertThrows(IllegalArgumentException.class, () -> RnnSpec.builder(CellMode.LSTM, 4, 0).build()));
        assertMessage("num_layers must be greater than zero",
            assertThrows(IllegalArgumentException.class, () -> RnnSpec.builder(CellMode.GRU, 4, 3).numLayers(0).build()));
        assertMessage("proj_size should be a positive integer or zero to disable projections",
            assertThrows(IllegalArgumentException.class, () -> RnnSpec.builder(CellMode.LSTM, 4, 3).projSize(-1).build()));
        assertMessage("proj_size has to be smaller than hidden_size",
            assertThrows(IllegalArgumentException.class, () -> RnnSpec.builder(CellMode.LSTM, 4, 3).projSize(3).build()));
        assertMessage("proj_size argument is only supported for LSTM, not RNN or GRU",
            assertThrows(IllegalArgumentException.class, () -> RnnSpec.builder(CellMode.GRU, 4, 3).projSize(1).build()));
        assertMessage("input_size must be greater than zero",
            assertThrows(IllegalArgumentException.class, () -> RnnSpec.builder(CellMode.RNN_TANH, 0, 3).build()));
        assertThrows(IllegalArgumentException.class, () -> RnnSpec.builder(CellMode.LSTM, 1 << 20, 1 << 12).build());
        assertThrows(NullPointerException.class, () -> RnnSpec.builder(null, 1, 1).build());
    }

    @Test
    void stateDictIsCheckedLikeLoadStateDict() {
        RnnSpec spec = RnnSpec.builder(CellMode.LSTM, 5, 4).build();
        Map<String, Tensor> sd = new LinkedHashMap<>(StateDicts.random(spec, 1));
        sd.remove("bias_hh_l0");
        sd.put("weight_hr_l0", Tensor.zeros(2, 4));
        sd.put("weight_ih_l0", Tensor.zeros(16, 7));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> RnnModel.create(spec, sd, EngineOptions.defaults().withBackend("scalar")));
        assertEquals("Error(s) in loading state_dict for LSTM: Missing key(s) in state_dict: \"bias_hh_l0\"."
            + " Unexpected key(s) in state_dict: \"weight_hr_l0\"."
            + " size mismatch for weight_ih_l0: copying a param with shape [16, 7] from checkpoint,"
            + " the shape in current model is [16, 5].", e.getMessage());
    }

    @Test
    void unknownAndUnavailableBackendsAreRefused() {
        RnnSpec spec = RnnSpec.builder(CellMode.GRU, 3, 2).build();
        Map<String, Tensor> sd = StateDicts.random(spec, 1);
        assertTrue(assertThrows(IllegalArgumentException.class,
            () -> RnnModel.create(spec, sd, EngineOptions.defaults().withBackend("cuda"))).getMessage()
            .contains("unknown backend 'cuda'"));
        assertThrows(IllegalArgumentException.class, () -> new EngineOptions("scalar", 0));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void inputShapesAreChecked(String backend) {
        try (RnnModel lstm = model(RnnSpec.builder(CellMode.LSTM, 20, 8).numLayers(2).build(), backend)) {
            assertMessage("LSTM: Expected input to be 2-D or 3-D but received 1-D tensor",
                assertThrows(IllegalArgumentException.class, () -> lstm.forward(Tensor.zeros(20))));
            assertMessage("LSTM: Expected input to be 2-D or 3-D but received 4-D tensor",
                assertThrows(IllegalArgumentException.class, () -> lstm.forward(Tensor.zeros(1, 2, 3, 20))));
            assertMessage("input.size(-1) must be equal to input_size. Expected 20, got 7",
                assertThrows(IllegalArgumentException.class, () -> lstm.forward(Tensor.zeros(5, 3, 7))));
            assertThrows(IllegalArgumentException.class, () -> lstm.forward(Tensor.zeros(0, 3, 20)));
            assertThrows(IllegalArgumentException.class, () -> lstm.forward(Tensor.zeros(5, 0, 20)));
            assertThrows(NullPointerException.class, () -> lstm.forward(null));
        }
        try (RnnModel gru = model(RnnSpec.builder(CellMode.GRU, 3, 4).build(), backend)) {
            assertMessage("GRU: Expected input to be 2-D or 3-D but received 1-D tensor",
                assertThrows(IllegalArgumentException.class, () -> gru.forward(Tensor.zeros(3))));
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void hiddenShapesAreChecked(String backend) {
        try (RnnModel gru = model(RnnSpec.builder(CellMode.GRU, 3, 4).numLayers(2).bidirectional(true).build(), backend)) {
            Tensor x = Tensor.zeros(5, 2, 3); // (T, N, D)
            assertMessage("Expected hidden size (4, 2, 4), got [4, 3, 4]",
                assertThrows(IllegalArgumentException.class, () -> gru.forward(x, Tensor.zeros(4, 3, 4))));
            assertMessage("For batched 3-D input, hx should also be 3-D but got 2-D tensor",
                assertThrows(IllegalArgumentException.class, () -> gru.forward(x, Tensor.zeros(4, 4))));
            assertMessage("For unbatched 2-D input, hx should also be 2-D but got 3-D tensor",
                assertThrows(IllegalArgumentException.class, () -> gru.forward(Tensor.zeros(5, 3), Tensor.zeros(4, 1, 4))));
            assertMessage("Expected hidden size (4, 1, 4), got [2, 1, 4]",
                assertThrows(IllegalArgumentException.class, () -> gru.forward(Tensor.zeros(5, 3), Tensor.zeros(2, 4))));
            assertThrows(IllegalArgumentException.class, () -> gru.forward(x, Tensor.zeros(4, 2, 4), Tensor.zeros(4, 2, 4), null));
        }
        try (RnnModel lstm = model(RnnSpec.builder(CellMode.LSTM, 3, 6).projSize(2).build(), backend)) {
            Tensor x = Tensor.zeros(5, 2, 3);
            assertMessage("Expected hidden[0] size (1, 2, 2), got [1, 2, 6]",
                assertThrows(IllegalArgumentException.class, () -> lstm.forward(x, Tensor.zeros(1, 2, 6), Tensor.zeros(1, 2, 6), null)));
            assertMessage("Expected hidden[1] size (1, 2, 6), got [1, 2, 2]",
                assertThrows(IllegalArgumentException.class, () -> lstm.forward(x, Tensor.zeros(1, 2, 2), Tensor.zeros(1, 2, 2), null)));
            assertMessage("For batched 3-D input, hx and cx should also be 3-D but got (3-D, 2-D) tensors",
                assertThrows(IllegalArgumentException.class, () -> lstm.forward(x, Tensor.zeros(1, 2, 2), Tensor.zeros(2, 6), null)));
            assertThrows(IllegalArgumentException.class, () -> lstm.forward(x, Tensor.zeros(1, 2, 2)));
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void lengthsAreChecked(String backend) {
        try (RnnModel rnn = model(RnnSpec.builder(CellMode.RNN_RELU, 3, 4).batchFirst(true).build(), backend)) {
            Tensor x = Tensor.zeros(2, 5, 3); // (N, T, D)
            assertMessage("Expected `len(lengths)` to be equal to batch_size, but got 3 (batch_size=2)",
                assertThrows(IllegalArgumentException.class, () -> rnn.forward(x, null, null, new int[] {1, 2, 3})));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> rnn.forward(x, null, null, new int[] {0, 2}))
                .getMessage().startsWith("Length of all samples has to be greater than 0"));
            assertThrows(IllegalArgumentException.class, () -> rnn.forward(x, null, null, new int[] {-3, 2}));
            assertMessage("lengths[1] = 6 is longer than the input's sequence length 5",
                assertThrows(IllegalArgumentException.class, () -> rnn.forward(x, null, null, new int[] {5, 6})));
            assertThrows(IllegalArgumentException.class, () -> rnn.forward(Tensor.zeros(5, 3), null, null, new int[] {5}));
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void closedModelsAndStatesRefuseCalls(String backend) {
        RnnSpec spec = RnnSpec.builder(CellMode.LSTM, 3, 4).build();
        RnnModel m = model(spec, backend);
        RnnState s = m.newState(1);
        m.close();
        m.close(); // harmless
        assertTrue(m.isClosed());
        // Every public method but close() and isClosed(), of the model and of its states.
        List<org.junit.jupiter.api.function.Executable> calls = List.of(
            () -> m.forward(Tensor.zeros(2, 1, 3)),
            () -> m.forward(Tensor.zeros(2, 1, 3), Tensor.zeros(1, 1, 4)),
            () -> m.forward(Tensor.zeros(2, 1, 3), null, null, new int[] {2}),
            () -> m.step(Tensor.zeros(1, 3), s), () -> m.newState(1), m::spec, m::backendName, m::threads,
            s::batch, s::h, s::c, s::reset, () -> s.set(Tensor.zeros(1, 1, 4), Tensor.zeros(1, 1, 4)));
        for (int i = 0; i < calls.size(); i++) {
            IllegalStateException e = assertThrows(IllegalStateException.class, calls.get(i), "call " + i);
            assertMessage("the model is closed", e);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void stepIsChecked(String backend) {
        try (RnnModel bi = model(RnnSpec.builder(CellMode.GRU, 3, 4).bidirectional(true).build(), backend);
             RnnModel a = model(RnnSpec.builder(CellMode.GRU, 3, 4).build(), backend);
             RnnModel b = model(RnnSpec.builder(CellMode.GRU, 3, 4).build(), backend)) {
            assertThrows(UnsupportedOperationException.class, () -> bi.newState(1));
            assertThrows(IllegalArgumentException.class, () -> a.newState(0));
            RnnState s = a.newState(2);
            assertThrows(IllegalArgumentException.class, () -> a.step(Tensor.zeros(3, 3), s));
            assertThrows(IllegalArgumentException.class, () -> a.step(Tensor.zeros(3), s));
            assertMessage("input.size(-1) must be equal to input_size. Expected 3, got 5",
                assertThrows(IllegalArgumentException.class, () -> a.step(Tensor.zeros(2, 5), s)));
            assertThrows(IllegalArgumentException.class, () -> b.step(Tensor.zeros(2, 3), s));
            assertThrows(UnsupportedOperationException.class, s::c);
            assertThrows(IllegalArgumentException.class, () -> s.set(Tensor.zeros(1, 1, 4), null));
        }
    }

    @Test
    void tensorsRefuseBadShapes() {
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[5], 2, 3));
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[6], 2, -3));
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(1 << 16, 1 << 16));
        assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(new float[6], 4, 3));
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(2, 3).reshape(7));
        assertThrows(IndexOutOfBoundsException.class, () -> Tensor.zeros(2, 3).get(6));
        assertThrows(IndexOutOfBoundsException.class, () -> Tensor.zeros(2, 3).size(2));
        assertEquals(3, Tensor.zeros(2, 3).size(-1));
    }
}
