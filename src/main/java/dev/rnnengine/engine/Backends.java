package dev.rnnengine.engine;

import java.lang.reflect.InvocationTargetException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Backend selection in the style of Lucene's {@code VectorizationProvider}: each backend is
 * loaded by class name, once per process, so this class never links the incubator module or
 * the native bindings; a backend that cannot run here says why from its constructor.
 */
public final class Backends {
    /** Every backend name, in the order {@code info} lists them. */
    public static final List<String> NAMES = List.of("scalar", "vector", "openblas", "onednn");

    private static final Map<String, String> CLASSES = Map.of(
        "scalar", "dev.rnnengine.backend.scalar.ScalarBackend",
        "vector", "dev.rnnengine.backend.vector.VectorBackend",
        "openblas", "dev.rnnengine.backend.openblas.OpenBlasBackend",
        "onednn", "dev.rnnengine.backend.onednn.OneDnnBackend");

    /**
     * What {@code auto} tries, best first; scalar always works. Vector leads: it is the fastest
     * here at batch 1 and within a few percent of OpenBLAS batched (README, Speed).
     */
    private static final List<String> AUTO_ORDER = List.of("vector", "openblas", "scalar");

    private static final System.Logger LOG = System.getLogger("dev.rnnengine");
    private static final Map<String, Availability> LOADED = new ConcurrentHashMap<>();
    private static final Map<String, Boolean> LOGGED = new ConcurrentHashMap<>();

    private Backends() { }

    /**
     * Whether a backend can run here, and if not, why.
     *
     * @param name    the backend
     * @param backend the instance, or null when unavailable
     * @param reason  null when available, else what is missing and how to get it
     */
    public record Availability(String name, Backend backend, String reason) {
        /** True when the backend can run here. */
        public boolean available() {
            return backend != null;
        }
    }

    /**
     * The availability of a named backend (created on first use, then cached).
     *
     * @throws IllegalArgumentException if the name is not a backend
     */
    public static Availability availability(String name) {
        String cls = CLASSES.get(name);
        if (cls == null) {
            throw new IllegalArgumentException("unknown backend '" + name
                + "': choose auto, scalar, vector, openblas or onednn");
        }
        return LOADED.computeIfAbsent(name, n -> load(n, cls));
    }

    /** Every backend's availability, in {@link #NAMES} order. */
    public static Map<String, Availability> all() {
        Map<String, Availability> m = new LinkedHashMap<>();
        for (String n : NAMES) {
            m.put(n, availability(n));
        }
        return m;
    }

    /**
     * The backend for a name: {@code auto} picks the best available one and logs one line
     * for each better one it skips; any other name must be available.
     *
     * @throws IllegalArgumentException if the name is not a backend
     * @throws UnsupportedOperationException if a named backend cannot run here (says why)
     */
    public static Backend select(String name) {
        if (name.equals("auto")) {
            List<String> skipped = new ArrayList<>();
            for (String n : AUTO_ORDER) {
                Availability a = availability(n);
                if (a.available()) {
                    for (String s : skipped) {
                        if (LOGGED.putIfAbsent(s, Boolean.TRUE) == null) {
                            LOG.log(System.Logger.Level.INFO, "backend " + s + " unavailable ("
                                + availability(s).reason() + "); auto uses " + n);
                        }
                    }
                    return a.backend();
                }
                skipped.add(n);
            }
            throw new IllegalStateException("no backend available; scalar should always load");
        }
        Availability a = availability(name);
        if (!a.available()) {
            throw new UnsupportedOperationException("backend '" + name + "' is not available: " + a.reason());
        }
        return a.backend();
    }

    private static Availability load(String name, String cls) {
        try {
            Class<?> c = Class.forName(cls);
            Backend b = (Backend) c.getDeclaredConstructor().newInstance();
            return new Availability(name, b, null);
        } catch (ClassNotFoundException e) {
            return new Availability(name, null, "not implemented in this version of rnn-engine (see README)");
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            String why = cause instanceof UnsupportedOperationException ? cause.getMessage() : String.valueOf(cause);
            return new Availability(name, null, why);
        } catch (ReflectiveOperationException | LinkageError e) {
            return new Availability(name, null, "failed to load: " + e);
        }
    }
}
