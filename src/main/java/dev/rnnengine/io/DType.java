package dev.rnnengine.io;

/** Safetensors element types; the engine converts the float ones to F32 and the integer ones to long. */
public enum DType {
    BOOL(1), U8(1), I8(1), F8_E5M2(1), F8_E4M3(1), I16(2), U16(2), F16(2), BF16(2),
    I32(4), U32(4), F32(4), F64(8), I64(8), U64(8);

    /** Bytes per element. */
    public final int size;

    DType(int size) {
        this.size = size;
    }

    /** The type named in a header, or null when the name is unknown. */
    static DType byName(String name) {
        for (DType t : values()) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        return null;
    }
}
