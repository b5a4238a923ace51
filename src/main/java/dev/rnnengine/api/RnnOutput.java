package dev.rnnengine.api;

import dev.rnnengine.core.Tensor;

/**
 * What a forward call returns, in PyTorch's shapes.
 *
 * @param output {@code (N, T, dirs*H_out)} if batch-first, {@code (T, N, dirs*H_out)} if not,
 *               {@code (T, dirs*H_out)} for unbatched input; zeros past a sequence's length
 * @param hN     {@code (L*dirs, N, H_out)}, or {@code (L*dirs, H_out)} unbatched: the last valid state
 * @param cN     LSTM only, {@code (L*dirs, N, H)} or {@code (L*dirs, H)}; null for RNN and GRU
 */
public record RnnOutput(Tensor output, Tensor hN, Tensor cN) { }
