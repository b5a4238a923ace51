package dev.rnnengine.core;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A dense, row-major float tensor that carries its shape and wraps its storage without
 * copying: a {@code float[]} (with an offset) or a {@link MemorySegment} (heap or native)
 * holding floats in the platform's byte order.
 *
 * <p>A tensor is a view: it does not own its storage, and writes through {@link #set} are
 * seen by everyone sharing the array or segment. Sizes are {@code int}s because the engine
 * works on Java arrays; shapes whose element count overflows an {@code int} are refused.
 */
public final class Tensor {
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final int[] shape;
    private final int numel;
    private final float[] array;   // non-null when array-backed
    private final int offset;      // first element in array
    private final MemorySegment segment; // non-null when segment-backed

    private Tensor(int[] shape, float[] array, int offset, MemorySegment segment) {
        this.shape = shape;
        this.numel = numel(shape);
        this.array = array;
        this.offset = offset;
        this.segment = segment;
    }

    /**
     * Wraps a whole array; its length must equal the shape's element count.
     *
     * @throws IllegalArgumentException if a size is negative or the lengths differ
     * @throws NullPointerException if {@code data} is null
     */
    public static Tensor of(float[] data, int... shape) {
        int n = numel(shape);
        if (n != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n
                + " floats but the array has " + data.length);
        }
        return wrap(data, 0, shape);
    }

    /**
     * Wraps {@code numel(shape)} elements of an array starting at {@code offset}.
     *
     * @throws IllegalArgumentException if a size is negative or the range is outside the array
     * @throws NullPointerException if {@code data} is null
     */
    public static Tensor wrap(float[] data, int offset, int... shape) {
        int[] s = shape.clone();
        int n = numel(s);
        if (offset < 0 || (long) offset + n > data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(s) + " needs " + n
                + " floats from offset " + offset + " but the array has " + data.length);
        }
        return new Tensor(s, data, offset, null);
    }

    /**
     * Wraps a memory segment holding at least {@code numel(shape)} floats in native byte order.
     *
     * @throws IllegalArgumentException if a size is negative or the segment is too small
     * @throws NullPointerException if {@code segment} is null
     */
    public static Tensor of(MemorySegment segment, int... shape) {
        int[] s = shape.clone();
        long bytes = 4L * numel(s);
        if (segment.byteSize() < bytes) {
            throw new IllegalArgumentException("shape " + Arrays.toString(s) + " needs " + bytes
                + " bytes but the segment has " + segment.byteSize());
        }
        return new Tensor(s, null, 0, segment.asSlice(0, bytes));
    }

    /**
     * A new zero-filled, array-backed tensor.
     *
     * @throws IllegalArgumentException if a size is negative or the count overflows
     */
    public static Tensor zeros(int... shape) {
        return of(new float[numel(shape)], shape);
    }

    /**
     * The number of elements a shape holds.
     *
     * @throws IllegalArgumentException if a size is negative or the count overflows an int
     */
    public static int numel(int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative size in shape " + Arrays.toString(shape));
            }
            n *= d;
            if (n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape)
                    + " has more than " + Integer.MAX_VALUE + " elements");
            }
        }
        return (int) n;
    }

    /** A copy of the shape. */
    public int[] shape() {
        return shape.clone();
    }

    /** The number of dimensions. */
    public int dim() {
        return shape.length;
    }

    /**
     * The size of dimension {@code d}; negative {@code d} counts from the end, as in PyTorch.
     *
     * @throws IndexOutOfBoundsException if there is no such dimension
     */
    public int size(int d) {
        int i = d < 0 ? shape.length + d : d;
        if (i < 0 || i >= shape.length) {
            throw new IndexOutOfBoundsException("dimension " + d + " of a " + shape.length + "-D tensor");
        }
        return shape[i];
    }

    /** The number of elements. */
    public int numel() {
        return numel;
    }

    /**
     * The element at a flat (row-major) index.
     *
     * @throws IndexOutOfBoundsException if the index is outside the tensor
     */
    public float get(int index) {
        if (index < 0 || index >= numel) {
            throw new IndexOutOfBoundsException("index " + index + " of " + numel);
        }
        return array != null ? array[offset + index] : segment.getAtIndex(FLOAT, index);
    }

    /**
     * Sets the element at a flat (row-major) index.
     *
     * @throws IndexOutOfBoundsException if the index is outside the tensor
     * @throws UnsupportedOperationException if the storage is a read-only segment
     */
    public void set(int index, float value) {
        if (index < 0 || index >= numel) {
            throw new IndexOutOfBoundsException("index " + index + " of " + numel);
        }
        if (array != null) {
            array[offset + index] = value;
        } else {
            segment.setAtIndex(FLOAT, index, value);
        }
    }

    /** True when the storage is a {@code float[]} (see {@link #array()}). */
    public boolean isArrayBacked() {
        return array != null;
    }

    /**
     * The backing array (shared, not copied); elements start at {@link #arrayOffset()}.
     *
     * @throws UnsupportedOperationException if the tensor is segment-backed
     */
    public float[] array() {
        if (array == null) {
            throw new UnsupportedOperationException("tensor is backed by a memory segment");
        }
        return array;
    }

    /** Where the elements start in {@link #array()}; 0 for segment-backed tensors. */
    public int arrayOffset() {
        return offset;
    }

    /** The storage as a segment of exactly {@code 4 * numel()} bytes (a heap segment for arrays). */
    public MemorySegment segment() {
        if (array != null) {
            return MemorySegment.ofArray(array).asSlice(4L * offset, 4L * numel);
        }
        return segment;
    }

    /** A new array holding a copy of the elements. */
    public float[] toArray() {
        float[] out = new float[numel];
        copyTo(out, 0);
        return out;
    }

    /**
     * Copies all elements into {@code dst} starting at {@code dstOffset}.
     *
     * @throws IndexOutOfBoundsException if {@code dst} is too small
     */
    public void copyTo(float[] dst, int dstOffset) {
        if (dstOffset < 0 || (long) dstOffset + numel > dst.length) {
            throw new IndexOutOfBoundsException("copying " + numel + " floats to offset " + dstOffset
                + " of an array of " + dst.length);
        }
        if (array != null) {
            System.arraycopy(array, offset, dst, dstOffset, numel);
        } else {
            MemorySegment.copy(segment, FLOAT, 0, dst, dstOffset, numel);
        }
    }

    /**
     * A view of the same storage with another shape of the same element count.
     *
     * @throws IllegalArgumentException if the element counts differ
     */
    public Tensor reshape(int... newShape) {
        int[] s = newShape.clone();
        if (numel(s) != numel) {
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape) + " to "
                + Arrays.toString(s));
        }
        return new Tensor(s, array, offset, segment);
    }

    /** The shape as PyTorch prints a list, e.g. {@code [2, 3, 7]}. */
    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public String toString() {
        return "Tensor" + shapeString();
    }
}
