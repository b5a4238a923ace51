package dev.rnnengine.text;

/** An {@code nn.Embedding}: a {@code (V, E)} table of rows looked up by id. */
public final class Embedding {
    private final float[] table;
    private final int vocabSize;
    private final int dim;

    /**
     * @param table {@code (V, E)}, row-major (kept, not copied)
     * @throws IllegalArgumentException if the table is not {@code V * E} floats
     */
    public Embedding(float[] table, int vocabSize, int dim) {
        if (vocabSize < 1 || dim < 1 || (long) vocabSize * dim != table.length) {
            throw new IllegalArgumentException("embedding table of " + table.length + " floats is not (" + vocabSize
                + ", " + dim + ")");
        }
        this.table = table;
        this.vocabSize = vocabSize;
        this.dim = dim;
    }

    /** V. */
    public int vocabSize() {
        return vocabSize;
    }

    /** E. */
    public int dim() {
        return dim;
    }

    /**
     * Copies the row of {@code id} to {@code out} at {@code offset}.
     *
     * @throws IllegalArgumentException if the id is outside 0..V-1 (PyTorch: "index out of range in self")
     */
    public void lookup(long id, float[] out, int offset) {
        if (id < 0 || id >= vocabSize) {
            throw new IllegalArgumentException("token id " + id + " is out of range for an embedding of " + vocabSize
                + " rows");
        }
        System.arraycopy(table, (int) id * dim, out, offset, dim);
    }
}
