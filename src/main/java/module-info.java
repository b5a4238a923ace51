/**
 * rnn-engine: PyTorch-exact {@code nn.RNN}, {@code nn.LSTM} and {@code nn.GRU} inference on
 * the CPU. Exports the public API and nothing else: the engine, the backends, the native
 * bindings, the command line and the benchmark harness are internal.
 */
module dev.rnnengine {
    // Optional at run time: each is checked where it is used, and its absence is a fallback.
    requires static jdk.incubator.vector;     // the vector backend (loaded by class name)
    requires static jdk.management;           // the vector backend's check that C2 is on
    requires static com.microsoft.onnxruntime; // the harness's ONNX Runtime peer

    exports dev.rnnengine.api;   // RnnModel, RnnState, RnnOutput, EngineOptions
    exports dev.rnnengine.core;  // RnnSpec, CellMode, Tensor
    exports dev.rnnengine.io;    // safetensors and the model/input file contracts
    exports dev.rnnengine.text;  // sentence classification
}
