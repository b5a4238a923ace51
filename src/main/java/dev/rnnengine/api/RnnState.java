package dev.rnnengine.api;

import dev.rnnengine.core.RnnSpec;
import dev.rnnengine.core.Tensor;
import dev.rnnengine.engine.Call;
import dev.rnnengine.engine.PreparedModel;
import dev.rnnengine.internal.Sizes;
import java.util.Arrays;

/**
 * The recurrent state of {@code batch} sequences streamed through {@link RnnModel#step}.
 *
 * <p>A state belongs to one model and one stream: a second thread stepping, setting or
 * resetting it while another does is refused with {@link IllegalStateException} (never a mixed
 * result); distinct states of one model may step concurrently. Stepping allocates nothing.
 */
public final class RnnState {
    private final RnnModel model;
    final int batch; // read by RnnModel.step, which has already entered the model's guard
    final float[] h;   // (L, N, H_out); the stream batcher gathers and scatters rows
    final float[] c;   // (L, N, H), LSTM only
    final float[] out; // (N, H_out)
    private final Tensor outView;
    private final RnnModel.Staging staging = new RnnModel.Staging();
    // A state belongs to one stream: a second thread using it at once is refused, not mixed in.
    private final java.util.concurrent.atomic.AtomicBoolean inUse = new java.util.concurrent.atomic.AtomicBoolean();

    RnnState(RnnModel model, int batch) {
        RnnSpec spec = model.spec();
        this.model = model;
        this.batch = batch;
        this.h = new float[Sizes.elements("the state's h (L x N x H_out)", spec.numLayers(), batch,
            spec.outputHiddenSize())];
        this.c = spec.mode().hasCellState()
            ? new float[Sizes.elements("the state's c (L x N x H)", spec.numLayers(), batch, spec.hiddenSize())] : null;
        this.out = new float[Sizes.elements("the step's output (N x H_out)", batch, spec.outputHiddenSize())];
        this.outView = Tensor.of(out, batch, spec.outputHiddenSize());
    }

    RnnModel model() {
        return model;
    }

    /**
     * The number of sequences stepped together.
     *
     * @throws IllegalStateException if the model is closed
     */
    public int batch() {
        model.checkOpen();
        return batch;
    }

    /**
     * A copy of the hidden state {@code (L, N, H_out)}, as PyTorch's h_n.
     *
     * @throws IllegalStateException if the model is closed
     */
    public Tensor h() {
        model.checkOpen();
        return Tensor.of(h.clone(), model.spec().numLayers(), batch, model.spec().outputHiddenSize());
    }

    /**
     * A copy of the LSTM cell state {@code (L, N, H)}, as PyTorch's c_n.
     *
     * @throws UnsupportedOperationException if the model is not an LSTM
     * @throws IllegalStateException if the model is closed
     */
    public Tensor c() {
        model.checkOpen();
        if (c == null) {
            throw new UnsupportedOperationException(model.spec().mode().moduleName() + " has no cell state");
        }
        return Tensor.of(c.clone(), model.spec().numLayers(), batch, model.spec().hiddenSize());
    }

    /**
     * Replaces the state, as passing {@code h0} (and {@code c0}) to forward would.
     *
     * @param h0 {@code (L, N, H_out)}
     * @param c0 LSTM: {@code (L, N, H)}; must be null otherwise
     * @throws IllegalArgumentException if a shape does not match
     * @throws IllegalStateException if the model is closed, or another thread is using the state
     */
    public void set(Tensor h0, Tensor c0) {
        RnnSpec spec = model.spec();
        int[] hShape = {spec.numLayers(), batch, spec.outputHiddenSize()};
        if (!Arrays.equals(h0.shape(), hShape)) {
            throw new IllegalArgumentException("Expected hidden size " + Arrays.toString(hShape) + ", got " + h0.shapeString());
        }
        if ((c == null) != (c0 == null)) {
            throw new IllegalArgumentException(c == null ? "only LSTM has a cell state" : "LSTM needs c0 as well as h0");
        }
        if (c0 != null) {
            int[] cShape = {spec.numLayers(), batch, spec.hiddenSize()};
            if (!Arrays.equals(c0.shape(), cShape)) {
                throw new IllegalArgumentException("Expected cell size " + Arrays.toString(cShape) + ", got " + c0.shapeString());
            }
        }
        enter();
        try {
            if (c0 != null) {
                c0.copyTo(c, 0);
            }
            h0.copyTo(h, 0);
        } finally {
            inUse.set(false);
        }
    }

    /**
     * Zeroes the state, to start new sequences.
     *
     * @throws IllegalStateException if the model is closed, or another thread is using the state
     */
    public void reset() {
        model.checkOpen();
        enter();
        try {
            Arrays.fill(h, 0f);
            if (c != null) {
                Arrays.fill(c, 0f);
            }
        } finally {
            inUse.set(false);
        }
    }

    /** One step: the driver reads and overwrites h and c in place ({@code Call}'s h0 == hN). */
    Tensor advance(PreparedModel prepared, Tensor x) {
        enter();
        try {
            Call args = staging.call;
            args.seqLen = 1;
            args.batch = batch;
            args.x = staging.xCopy.elementsOf(x);
            args.h0 = h;
            args.hN = h;
            args.c0 = c;
            args.cN = c;
            args.lengths = null;
            args.y = out; // (1, N, H_out): the top layer's new h
            prepared.forward(args);
            return outView;
        } finally {
            staging.call.x = null; // pins no caller's array
            inUse.set(false);
        }
    }

    private void enter() {
        if (!inUse.compareAndSet(false, true)) {
            throw new IllegalStateException("this state is in use by another thread: a state belongs to one stream "
                + "(make one state per thread, or synchronize)");
        }
    }
}
