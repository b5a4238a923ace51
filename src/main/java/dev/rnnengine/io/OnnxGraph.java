package dev.rnnengine.io;

import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import java.util.List;
import java.util.Map;

/**
 * An ONNX model recognised as one PyTorch RNN/LSTM/GRU ({@link OnnxImport}): its spec and
 * state_dict, and how the graph's own inputs and outputs map onto the engine's call.
 *
 * @param spec      the model, in PyTorch's terms; {@code batchFirst} is the graph input's layout
 * @param stateDict PyTorch's parameters (gates reordered from ONNX's)
 * @param input     the graph input holding the sequences: {@code (T, N, D)}, or {@code (N, T, D)} when batch-first
 * @param h0        the graph input of the initial hidden state {@code (L*dirs, N, H)}, or null (zeros)
 * @param c0        an LSTM's initial cell state input, or null
 * @param lengths   the graph input of {@code sequence_lens} {@code (N)} (int32), or null
 * @param outputs   the graph outputs, in the graph's order
 * @param opset     the model's default-domain opset
 * @param layout    the recurrent node's {@code layout}: 0, or 1 for a one-node graph whose X, Y, states
 *                  are batch-major ({@code Y (N, T, dirs, H)}, states {@code (N, dirs, H)})
 */
public record OnnxGraph(RnnSpec spec, Map<String, Tensor> stateDict, String input, String h0, String c0, String lengths,
                        List<Output> outputs, long opset, int layout) {

    /** What a graph output is. */
    public enum Kind {
        /** The last layer's output in the input's layout: {@code (T, N, dirs*H)} or {@code (N, T, dirs*H)}. */
        OUTPUT,
        /** An ONNX node's own {@code Y} of a one-layer graph: {@code (T, dirs, N, H)} ({@code (N, T, dirs, H)} in layout 1). */
        Y,
        /** Every layer's final hidden state, {@code (L*dirs, N, H)} (a one-layer node's {@code Y_h}). */
        H_N,
        /** An LSTM's final cell states, {@code (L*dirs, N, H)}. */
        C_N
    }

    /** A graph output: its name in the graph and what it is. */
    public record Output(String name, Kind kind) { }
}
