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
     * What {@code auto} tries for small batches, best first; scalar always works. Vector leads:
     * it is the fastest here at batch 1 (README, Speed).
     */
    private static final List<String> AUTO_ORDER = List.of("vector", "openblas", "scalar");
    /** What {@code auto} runs batches of {@link SplitBackend#BATCHED_MIN} or more on, when it is here. */
    private static final String AUTO_BATCHED = "onednn";

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
     * The backend for a name: {@code auto} picks the best available one for small batches and,
     * when oneDNN is here, pairs it with oneDNN for large batches ({@link SplitBackend}); it logs
     * one line for each better backend it goes without. Any other name must be available.
     *
     * @throws IllegalArgumentException if the name is not a backend
     * @throws UnsupportedOperationException if a named backend cannot run here (says why)
     */
    public static Backend select(String name) {
        if (name.equals("auto")) {
            Backend small = null;
            List<String> skipped = new ArrayList<>();
            for (String n : AUTO_ORDER) {
                Availability a = availability(n);
                if (a.available()) {
                    small = a.backend();
                    break;
                }
                skipped.add(n);
            }
            if (small == null) {
                throw new IllegalStateException("no backend available; scalar should always load");
            }
            for (String n : skipped) {
                logOnce(n, "auto uses " + small.name());
            }
            Availability batched = availability(AUTO_BATCHED);
            if (!batched.available()) {
                logOnce(AUTO_BATCHED, "auto runs every batch size on " + small.name());
                return small;
            }
            return small.name().equals("scalar") ? batched.backend() : new SplitBackend(small, batched.backend());
        }
        Availability a = availability(name);
        if (!a.available()) {
            throw new UnsupportedOperationException("backend '" + name + "' is not available: " + a.reason());
        }
        return a.backend();
    }

    private static void logOnce(String backend, String consequence) {
        if (LOGGED.putIfAbsent(backend, Boolean.TRUE) == null) {
            LOG.log(System.Logger.Level.INFO, "backend " + backend + " unavailable (" + availability(backend).reason()
                + "); " + consequence);
        }
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
