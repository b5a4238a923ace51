package dev.rnnengine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rnnengine.core.CellMode;
import dev.rnnengine.api.EngineOptions;
import dev.rnnengine.api.RnnModel;
import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.bench.StateDicts;
import dev.rnnengine.core.Tensor;
import dev.rnnengine.io.MalformedFileException;
import dev.rnnengine.io.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The model file contract: metadata inferred where the tensors tell, refused where they contradict. */
class ModelFileTest {
    @TempDir
    Path dir;

    private Path write(RnnSpec spec, Map<String, String> meta, Map<String, Tensor> sd) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        sd.forEach(w::put);
        meta.forEach(w::metadata);
        Path p = dir.resolve("m" + System.nanoTime() + ".safetensors");
        w.write(p);
        return p;
    }

    private static RnnModel load(Path p) throws IOException {
        return RnnModel.load(p, EngineOptions.defaults().withBackend("scalar"), Map.of());
    }

    @Test
    void everythingButBatchFirstIsInferred() throws IOException {
        RnnSpec spec = RnnSpec.builder(CellMode.LSTM, 5, 9).numLayers(3).bidirectional(true).projSize(4).bias(false).build();
        Path p = write(spec, Map.of("batch_first", "false"), StateDicts.random(spec, 2));
        try (RnnModel m = load(p)) {
            assertEquals(spec, m.spec());
        }
        RnnSpec gru = RnnSpec.builder(CellMode.GRU, 2, 3).batchFirst(true).build();
        try (RnnModel m = load(write(gru, Map.of("batch_first", "True"), StateDicts.random(gru, 2)))) {
            assertEquals(gru, m.spec());
        }
        // Without batch_first the file cannot be read, unless the caller says it.
        Path noBf = write(gru, Map.of(), StateDicts.random(gru, 2));
        assertTrue(assertThrows(MalformedFileException.class, () -> load(noBf)).getMessage().contains("batch_first"));
        try (RnnModel m = RnnModel.load(noBf, EngineOptions.defaults().withBackend("scalar"), Map.of("batch_first", "true"))) {
            assertEquals(gru, m.spec());
        }
    }

    @Test
    void rnnNeedsItsNonlinearity() throws IOException {
        RnnSpec relu = RnnSpec.builder(CellMode.RNN_RELU, 2, 3).build();
        Map<String, Tensor> sd = StateDicts.random(relu, 2);
        assertTrue(assertThrows(MalformedFileException.class, () -> load(write(relu, Map.of("batch_first", "false"), sd)))
            .getMessage().contains("tanh from relu"));
        try (RnnModel m = load(write(relu, Map.of("batch_first", "false", "nonlinearity", "relu"), sd))) {
            assertEquals(CellMode.RNN_RELU, m.spec().mode());
        }
        assertTrue(assertThrows(MalformedFileException.class,
            () -> load(write(relu, Map.of("batch_first", "false", "nonlinearity", "sigmoid"), sd)))
            .getMessage().contains("Unknown nonlinearity 'sigmoid'. Select from 'tanh' or 'relu'."));
    }

    @Test
    void contradictionsAreRefused() throws IOException {
        RnnSpec spec = RnnSpec.builder(CellMode.LSTM, 5, 8).numLayers(2).build();
        Map<String, Tensor> sd = StateDicts.random(spec, 2);
        String[][] bad = {
            {"hidden_size", "7"}, {"input_size", "6"}, {"num_layers", "3"}, {"bias", "false"},
            {"bidirectional", "true"}, {"proj_size", "2"}, {"mode", "GRU"}, {"mode", "RNN_TANH"},
            {"nonlinearity", "relu"}, {"mode", "TRANSFORMER"}, {"hidden_size", "eight"}, {"bias", "maybe"},
        };
        for (String[] kv : bad) {
            Map<String, String> meta = new LinkedHashMap<>(Map.of("batch_first", "false"));
            meta.put(kv[0], kv[1]);
            Path p = write(spec, meta, sd);
            Exception e = assertThrows(MalformedFileException.class, () -> load(p), kv[0] + "=" + kv[1]);
            assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
        }
    }

    @Test
    void brokenStateDictsAreRefused() throws IOException {
        RnnSpec spec = RnnSpec.builder(CellMode.GRU, 5, 8).numLayers(2).build();
        Map<String, String> meta = Map.of("batch_first", "false");
        Map<String, Tensor> sd = new LinkedHashMap<>(StateDicts.random(spec, 2));
        sd.remove("weight_hh_l1");
        assertTrue(assertThrows(MalformedFileException.class, () -> load(write(spec, meta, sd)))
            .getMessage().contains("Missing key(s) in state_dict: \"weight_hh_l1\""));
        Map<String, Tensor> extra = new LinkedHashMap<>(StateDicts.random(spec, 2));
        extra.put("fc.weight", Tensor.zeros(2, 2));
        assertTrue(assertThrows(MalformedFileException.class, () -> load(write(spec, meta, extra)))
            .getMessage().contains("Unexpected key(s) in state_dict: \"fc.weight\""));
        assertTrue(assertThrows(MalformedFileException.class, () -> load(write(spec, meta, Map.of("x", Tensor.zeros(1)))))
            .getMessage().contains("not the state_dict"));
        Map<String, Tensor> odd = new LinkedHashMap<>(StateDicts.random(spec, 2));
        odd.put("weight_ih_l0", Tensor.zeros(25, 5));
        assertTrue(assertThrows(MalformedFileException.class, () -> load(write(spec, meta, odd)))
            .getMessage().contains("gate blocks"));
        Map<String, Tensor> vec = new LinkedHashMap<>(StateDicts.random(spec, 2));
        vec.put("weight_hh_l0", Tensor.zeros(24));
        assertTrue(assertThrows(MalformedFileException.class, () -> load(write(spec, meta, vec)))
            .getMessage().contains("must be 2-D"));
    }
}
