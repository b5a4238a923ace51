import dev.rnnengine.api.*; // RnnModel, RnnOutput, RnnState, StreamBatcher, EngineOptions
import dev.rnnengine.core.Tensor;
import dev.rnnengine.text.SentenceClassifier;
import java.nio.file.Path;
import java.util.List;

public class Quickstart {
    public static void main(String[] args) throws Exception {
        // A model file: PyTorch's state_dict + its hyper-parameters (tools/export_rnn.py writes one).
        try (RnnModel lstm = RnnModel.load(Path.of(args[0]))) {      // backend auto, all cores
            int d = lstm.spec().inputSize();
            float[] x = new float[4 * 10 * d];                        // 4 sequences of 10 steps
            RnnOutput out = lstm.forward(lstm.spec().batchFirst() ? Tensor.of(x, 4, 10, d) : Tensor.of(x, 10, 4, d));
            System.out.println("h_n " + out.hN().shapeString());      // (layers*dirs, 4, hidden)

            RnnState state = lstm.newState(1);                        // a stream, one step at a time
            Tensor h = lstm.step(Tensor.of(new float[d], 1, d), state);   // (1, hidden), no allocation

            try (StreamBatcher many = new StreamBatcher(lstm)) {      // many streams, one batched step
                StreamBatcher.Stream s = many.open();
                float[] y = many.step(s, new float[d], new float[lstm.spec().outputHiddenSize()]);  // from any thread
                System.out.println("stepped " + h.shapeString() + " and " + y.length + " values");
            }
        }
        // A sentence classifier: embedding, RNN encoder, pooling, linear (the demo's spam filter).
        try (SentenceClassifier spam = SentenceClassifier.load(Path.of(args[1]), EngineOptions.defaults())) {
            for (SentenceClassifier.Prediction p : spam.classify(List.of("WIN a FREE prize, click now!",
                    "Re: the build is fixed, see you at the review"))) {
                System.out.println(p.label() + " " + p.probabilities()[p.index()]);
            }
        }
    }
}
