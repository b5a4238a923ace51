package dev.rnnengine.engine;

/**
 * One (layer, direction)'s parameters in PyTorch's layout, row-major, gates stacked in
 * PyTorch's order (LSTM i,f,g,o; GRU r,z,n). Backends repack these once in {@code prepare};
 * bias pre-summing follows {@link dev.rnnengine.core.CellMode#presummedBias}.
 *
 * @param wIh {@code (G*H, in)}
 * @param wHh {@code (G*H, H_out)}
 * @param bIh {@code (G*H)}, or null without bias
 * @param bHh {@code (G*H)}, or null without bias
 * @param wHr {@code (H_out, H)} for a projected LSTM, else null
 */
public record LayerWeights(float[] wIh, float[] wHh, float[] bIh, float[] bHh, float[] wHr) { }
