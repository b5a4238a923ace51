package dev.rnnengine.engine;

import dev.rnnengine.core.Precision;
import dev.rnnengine.core.RnnSpec;
import java.lang.reflect.InvocationTargetException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The registry of backends and their selection, in the style of Lucene's
 * {@code VectorizationProvider}: each backend is loaded by class name, once per process, so
 * this class never links the incubator module or the native bindings; a backend that cannot
 * run here says why from its constructor. A new backend is one class plus one line in
 * {@link #REGISTRY}.
 */
public final class Backends {
    /** Name and class of every backend, in the order {@code info} lists them. */
    private static final Map<String, String> REGISTRY = registry(
        "scalar", "dev.rnnengine.backend.scalar.ScalarBackend",
        "vector", "dev.rnnengine.backend.vector.VectorBackend",
        "openblas", "dev.rnnengine.backend.openblas.OpenBlasBackend",
        "onednn", "dev.rnnengine.backend.onednn.OneDnnBackend");

    /** Every backend name, in registry order. */
    public static final List<String> NAMES = List.copyOf(REGISTRY.keySet());
    /** The name that lets the engine choose. */
    public static final String AUTO = "auto";

    /** What {@code auto} tries for small batches, best first; scalar always works. */
    private static final List<String> AUTO_ORDER = List.of("vector", "openblas", "scalar");
    /** What {@code auto} runs batches of {@link Router#BATCHED_MIN} or more on, when it is here. */
    private static final String AUTO_BATCHED = "onednn";
    /** The backend that answers for auto while Java kernels warm: native whole layers, no JIT to wait for. */
    private static final String NATIVE_INTERIM = "onednn";
    /** The hidden size from which LSTM and GRU go to oneDNN at any batch (measured: 512 yes, 256 no). */
    static final int LARGE_HIDDEN = 512;
    private static final String PROBE_CLASS = "dev.rnnengine.backend.vector.VectorProbe";

    private static final System.Logger LOG = System.getLogger("dev.rnnengine");
    private static final Map<String, Availability> LOADED = new ConcurrentHashMap<>();
    private static final Map<String, Boolean> LOGGED = new ConcurrentHashMap<>();

    private Backends() { }

    private static Map<String, String> registry(String... nameClass) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < nameClass.length; i += 2) {
            m.put(nameClass[i], nameClass[i + 1]);
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    /** {@code auto}, then every registered backend. */
    public static List<String> allNames() {
        List<String> all = new ArrayList<>();
        all.add(AUTO);
        all.addAll(NAMES);
        return List.copyOf(all);
    }

    /** "auto, scalar, vector, openblas or onednn", for messages. */
    public static String choices() {
        List<String> all = allNames();
        return String.join(", ", all.subList(0, all.size() - 1)) + " or " + all.get(all.size() - 1);
    }

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
     * The availability of a registered backend (created on first use, then cached).
     *
     * @throws IllegalArgumentException if the name is not a backend
     */
    public static Availability availability(String name) {
        String cls = REGISTRY.get(name);
        if (cls == null) {
            throw new IllegalArgumentException("unknown backend '" + name + "': choose " + choices());
        }
        return LOADED.computeIfAbsent(name, n -> load(n, cls));
    }

    /** Every backend's availability, in registry order. */
    public static Map<String, Availability> all() {
        Map<String, Availability> m = new LinkedHashMap<>();
        for (String n : NAMES) {
            m.put(n, availability(n));
        }
        return m;
    }

    /**
     * Prepares a model on a backend: a named one must be available; {@code auto} picks the
     * best available one for small batches and, when oneDNN is here, routes large calls to it
     * ({@link Router}), logging one line for each better backend it goes without. The thread
     * count goes through {@link Threads#effective}, for every backend alike.
     *
     * @throws IllegalArgumentException if the name is not a backend
     * @throws UnsupportedOperationException if a named backend cannot run here, or cannot run this spec
     */
    public static PreparedModel prepare(String name, RnnSpec spec, List<LayerWeights> weights, int requestedThreads) {
        int threads = Threads.effective(requestedThreads);
        Precision precision = weights.get(0).precision();
        if (!name.equals(AUTO)) {
            Availability a = availability(name);
            if (!a.available()) {
                throw new UnsupportedOperationException("backend '" + name + "' is not available: " + a.reason());
            }
            if (!a.backend().precisions().contains(precision)) {
                throw new UnsupportedOperationException("backend '" + name + "' runs fp32 weights only; "
                    + precision.label() + " weights run on " + String.join(" and ", runningOn(precision)));
            }
            return prepareOn(a.backend(), spec, weights, threads);
        }
        if (precision != Precision.FP32 && !AutoTuner.enabled()) { // the rule: the fastest backend that runs it
            String n = runningOn(precision).stream().filter(b -> availability(b).available()).findFirst().orElseThrow();
            return prepareOn(availability(n).backend(), spec, weights, threads);
        }
        if (AutoTuner.enabled()) {
            return tuned(spec, weights, threads, false);
        }
        AutoChoice c = autoChoice(spec);
        if (c.batched() == null) {
            return prepareOn(c.small(), spec, weights, threads);
        }
        PreparedModel s = prepareOn(c.small(), spec, weights, threads);
        try {
            return new Router(s, prepareOn(c.batched(), spec, weights, threads));
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** A backend's kernels for these weights' precision: what compiles together, for {@link Warmup}. */
    static String kernelKind(String backend, List<LayerWeights> weights) {
        Precision p = weights.get(0).precision();
        return p == Precision.FP32 ? backend : backend + " " + p.label();
    }

    /** The registered backends that run a weight precision here, the fastest kind first (scalar last). */
    static List<String> runningOn(Precision p) {
        List<String> out = new ArrayList<>();
        for (String n : NAMES) {
            Availability a = availability(n);
            if (a.available() && a.backend().precisions().contains(p) && !n.equals("scalar")) {
                out.add(n);
            }
        }
        out.add("scalar");
        return out;
    }

    /**
     * {@code auto} by measurement: the cached choices for this spec on this machine, or a
     * measurement of every available backend now ({@code retune}: always).
     */
    private static PreparedModel tuned(RnnSpec spec, List<LayerWeights> weights, int threads, boolean retune) {
        Precision precision = weights.get(0).precision();
        AutoTuner.Choice[] cached = retune ? null : AutoTuner.cached(spec, threads, precision);
        List<String> names = new ArrayList<>();
        for (String n : NAMES) {
            if (cached != null ? java.util.Arrays.stream(cached).anyMatch(c -> c.winner().equals(n))
                : availability(n).available() && !n.equals("scalar") && availability(n).backend().precisions().contains(precision)) {
                names.add(n);
            }
        }
        if (names.isEmpty()) {
            names.add("scalar"); // nothing faster runs here
        }
        for (String n : NAMES) { // one line for each backend auto goes without, naming the fix
            if (!n.equals("scalar") && !availability(n).available()) {
                logOnce(n, "auto chooses among " + String.join(", ", names));
            }
        }
        Map<String, PreparedModel> prepared = new LinkedHashMap<>();
        try {
            for (String n : names) {
                try {
                    // Warmed below, or by the measurement, which warms every candidate.
                    prepared.put(n, prepareOn(availability(n).backend(), spec, weights, threads, false));
                } catch (UnsupportedOperationException e) { // e.g. oneDNN cannot run this spec
                    if (cached != null) {
                        throw e;
                    }
                    logOnce(n, "auto does not use it for " + AutoTuner.key(spec, threads, precision) + ": " + e.getMessage());
                }
            }
            if (prepared.isEmpty()) {
                prepared.put("scalar", prepareOn(availability("scalar").backend(), spec, weights, threads));
            }
            AutoTuner.Choice[] choices = cached != null ? cached : AutoTuner.tune(spec, threads, precision, prepared);
            Map<String, PreparedModel> winners = new LinkedHashMap<>();
            for (AutoTuner.Choice c : choices) {
                winners.put(c.winner(), prepared.get(c.winner()));
            }
            for (Map.Entry<String, PreparedModel> e : prepared.entrySet()) {
                if (!winners.containsKey(e.getKey())) {
                    e.getValue().close(); // only the winners keep the weights
                }
            }
            return cached == null ? new TunedModel(choices, winners, threads) : warmed(spec, weights, threads, choices, winners);
        } catch (RuntimeException | Error e) {
            prepared.values().forEach(PreparedModel::close);
            throw e;
        }
    }

    /**
     * Whether oneDNN, measured on every call class a winner takes, was within 1.5x of it: then
     * its answering those calls during the warm-up costs less than the warm-up would at load.
     */
    private static boolean interimKeepsUp(AutoTuner.Choice[] choices, String winner) {
        for (AutoTuner.Choice c : choices) {
            if (c.winner().equals(winner)) {
                Double w = c.ms().get(winner);
                Double i = c.ms().get(NATIVE_INTERIM);
                if (w == null || i == null || i > 1.5 * w) {
                    return false;
                }
            }
        }
        return true;
    }

    /** System property: {@code false} warms auto's Java kernels before load returns instead of in the background. */
    static final String BACKGROUND_WARMUP_PROPERTY = "rnn.warmup.background";

    /**
     * auto's winners, warmed: oneDNN's at once (it is native; a few calls set it up), and the
     * Java ones in the background behind an interim oneDNN model when oneDNN runs this spec,
     * so the first answer waits for no compilation (otherwise before returning).
     */
    private static TunedModel warmed(RnnSpec spec, List<LayerWeights> weights, int threads, AutoTuner.Choice[] choices,
                                     Map<String, PreparedModel> winners) {
        List<String> cold = new ArrayList<>();
        for (Map.Entry<String, PreparedModel> w : winners.entrySet()) {
            if (w.getKey().equals(NATIVE_INTERIM)) {
                Warmup.ifNeeded(w.getKey(), spec, w.getValue());
            } else if (!Warmup.done(kernelKind(w.getKey(), weights), spec)) {
                if (interimKeepsUp(choices, w.getKey())) {
                    cold.add(w.getKey());
                } else { // oneDNN would answer its calls much slower than it will: warm it now
                    Warmup.ifNeeded(kernelKind(w.getKey(), weights), spec, w.getValue());
                }
            }
        }
        PreparedModel interim = null;
        boolean background = !"false".equalsIgnoreCase(System.getProperty(BACKGROUND_WARMUP_PROPERTY, "true").trim());
        // The interim model answers with the same weights (in reduced precision, the values the codes stand for).
        if (!cold.isEmpty() && background && availability(NATIVE_INTERIM).available()) {
            interim = winners.get(NATIVE_INTERIM);
            if (interim == null) {
                try {
                    interim = prepareOn(availability(NATIVE_INTERIM).backend(), spec, weights, threads, true);
                } catch (UnsupportedOperationException e) {
                    interim = null; // this spec is not one oneDNN runs: warm in the foreground
                }
            }
        }
        if (interim == null) {
            for (String n : cold) {
                Warmup.ifNeeded(kernelKind(n, weights), spec, winners.get(n));
            }
            return new TunedModel(choices, winners, threads);
        }
        return new TunedModel(choices, winners, threads, interim, cold, spec);
    }

    /**
     * Measures {@code auto}'s choices for a spec on this machine again and caches them
     * ({@code rnn tune}); returns the table.
     *
     * @throws UnsupportedOperationException if no backend can run the spec
     */
    public static String tune(RnnSpec spec, List<LayerWeights> weights, int requestedThreads) {
        int threads = Threads.effective(requestedThreads);
        try (PreparedModel m = tuned(spec, weights, threads, true)) {
            Precision p = weights.get(0).precision();
            return AutoTuner.key(spec, threads, p) + " -> " + m.backendName() + "\n"
                + AutoTuner.describe(AutoTuner.cached(spec, threads, p));
        }
    }

    /** What {@code auto} runs a spec on: {@code small} alone, or calls of {@link Router#BATCHED_MIN}+ rows on {@code batched}. */
    private record AutoChoice(Backend small, Backend batched) { }

    private static AutoChoice autoChoice(RnnSpec spec) {
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
            return new AutoChoice(small, null);
        }
        boolean large = spec.gates() > 1 && spec.hiddenSize() >= LARGE_HIDDEN; // LSTM, GRU
        if (large || small.name().equals("scalar")) {
            return new AutoChoice(batched.backend(), null); // one copy of the weights
        }
        return new AutoChoice(small, batched.backend());
    }

    /** What {@code auto} runs a spec on at {@code threads} threads, in words (for {@code rnn info}). */
    public static String describeAuto(RnnSpec spec, int requestedThreads) {
        int threads = Threads.effective(requestedThreads);
        if (AutoTuner.enabled()) {
            AutoTuner.Choice[] c = AutoTuner.cached(spec, threads);
            if (c == null) {
                return "measured on this machine when a model of this spec is first created with auto at " + threads
                    + " threads (or by rnn tune), then cached in " + AutoTuner.cacheFile();
            }
            return "per call class, measured on this machine (" + AutoTuner.cacheFile() + "):\n" + AutoTuner.describe(c);
        }
        AutoChoice c = autoChoice(spec);
        return (c.batched() == null ? c.small().name()
            : c.small().name() + ", and " + c.batched().name() + " for batches of " + Router.BATCHED_MIN + " or more")
            + " (the built-in rule: -D" + AutoTuner.TUNE_PROPERTY + "=false)";
    }

    private static PreparedModel prepareOn(Backend b, RnnSpec spec, List<LayerWeights> weights, int threads) {
        return prepareOn(b, spec, weights, threads, true);
    }

    private static PreparedModel prepareOn(Backend b, RnnSpec spec, List<LayerWeights> weights, int threads, boolean warm) {
        Kernels k = b.prepare(spec, weights, threads);
        PreparedModel m;
        try {
            m = Driver.of(b.name(), spec, k, threads);
        } catch (RuntimeException e) {
            k.close();
            throw e;
        }
        try {
            if (warm) {
                Warmup.ifNeeded(kernelKind(b.name(), weights), spec, m); // so that the first call is not an interpreted one
            }
        } catch (RuntimeException | Error e) {
            m.close();
            throw e;
        }
        return m;
    }

    /** The machine probe of the fastest Java kernels, for the harness's report; empty without the Vector API. */
    public static Optional<MachineProbe> probe() {
        if (!availability("vector").available()) {
            return Optional.empty();
        }
        try {
            return Optional.of((MachineProbe) Class.forName(PROBE_CLASS).getDeclaredConstructor().newInstance());
        } catch (ReflectiveOperationException | LinkageError e) {
            return Optional.empty();
        }
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
