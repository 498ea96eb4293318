package profilepipe.cassandra;

import com.datastax.oss.driver.api.core.AllNodesFailedException;
import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.CqlSessionBuilder;
import com.datastax.oss.driver.api.core.DefaultConsistencyLevel;
import com.datastax.oss.driver.api.core.DriverTimeoutException;
import com.datastax.oss.driver.api.core.NoNodeAvailableException;
import com.datastax.oss.driver.api.core.config.DefaultDriverOption;
import com.datastax.oss.driver.api.core.config.DriverConfigLoader;
import com.datastax.oss.driver.api.core.config.ProgrammaticDriverConfigLoaderBuilder;
import com.datastax.oss.driver.api.core.connection.ClosedConnectionException;
import com.datastax.oss.driver.api.core.connection.ConnectionInitException;
import com.datastax.oss.driver.api.core.connection.HeartbeatException;
import com.datastax.oss.driver.api.core.cql.AsyncResultSet;
import com.datastax.oss.driver.api.core.cql.BoundStatement;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.servererrors.BootstrappingException;
import com.datastax.oss.driver.api.core.servererrors.OverloadedException;
import com.datastax.oss.driver.api.core.servererrors.ReadTimeoutException;
import com.datastax.oss.driver.api.core.servererrors.UnavailableException;
import com.datastax.oss.driver.api.core.servererrors.WriteTimeoutException;
import com.datastax.oss.driver.api.core.ssl.ProgrammaticSslEngineFactory;

import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;

import java.io.IOException;
import java.io.Serializable;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The users table's writer on the JVM: rows of a Spark DataFrame upserted by the Apache Cassandra
 * Java driver from the executors, at the store's speed.
 *
 * <p>Called from Python through py4j ({@code profilepipe.stores.cassandra_jvm}):
 * {@code UsersWriter.write(df._jdf, options)} with the DataFrame's columns being those of the
 * {@code columns} option in that order (the storage profile's, {@code Settings.user_columns}), returns the number of rows written (the
 * sum over partitions). Each partition runs on an executor: one {@link CqlSession} per executor JVM
 * and connection options (cached, closed at JVM shutdown), one prepared INSERT (an upsert by
 * user_id: a replay writes the same values), asynchronous executes with at most
 * {@code max_in_flight} requests outstanding (a {@link Semaphore}), token-aware routing (the
 * driver's default load balancing). A request failing because the server is unreachable or
 * overloaded is retried with the backoff of {@code profilepipe.retry} (0.5 s doubling up to 10 s)
 * for at most {@code retry_seconds} of waiting; any other error (a bad statement, a missing table)
 * fails the partition at once, and so the Spark job.
 *
 * <p>Options (all strings): {@code contact_points} (host:port[,host:port...]), {@code local_dc}, {@code table}
 * (keyspace.table), {@code columns} (the table's columns with their CQL types, in the DataFrame's
 * order: {@code user_id:uuid,gender:text,...}; types uuid, text, int, date, timestamp), {@code username}/{@code password} (optional), {@code ssl} ("true"/"false"),
 * {@code consistency} (a DefaultConsistencyLevel name, default LOCAL_QUORUM),
 * {@code ssl_ca_file}, {@code ssl_cert_file}, {@code ssl_key_file} (PEM; the key unencrypted
 * PKCS#8 "BEGIN PRIVATE KEY"), {@code ssl_verify_hostname}, {@code max_in_flight} (default 512),
 * {@code retry_seconds} (default 180), {@code request_timeout_seconds} (default 30),
 * {@code connect_timeout_seconds} (default 10).
 */
public final class UsersWriter {
    static final double FIRST_DELAY = 0.5;
    static final double MAX_DELAY = 10.0;

    private static final Map<String, CqlSession> SESSIONS = new ConcurrentHashMap<>();
    private static final Map<String, PreparedStatement> PREPARED = new ConcurrentHashMap<>();
    private static final ScheduledExecutorService RETRIES = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "profilepipe-cassandra-retry");
        t.setDaemon(true);
        return t;
    });

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(UsersWriter::closeAll, "profilepipe-cassandra-close"));
    }

    private UsersWriter() {
    }

    // ------------------------------------------------------------------ Spark entry point
    /** Upsert every row of {@code df} from the executors; returns the number of rows written. */
    public static long write(Dataset<Row> df, Map<String, String> options) {
        Options opts = new Options(options);
        opts.check();
        if (!opts.columns().equals(List.of(df.columns()))) {
            throw new IllegalArgumentException(
                    "UsersWriter: expected the columns " + opts.columns() + ", got " + List.of(df.columns()));
        }
        MapPartitionsFunction<Row, Long> perPartition = rows -> {
            try {
                return Collections.singletonList(writeRows(rows, opts)).iterator();
            } catch (RuntimeException e) {
                throw portable(e);
            }
        };
        long total = 0;
        for (Long n : df.mapPartitions(perPartition, Encoders.LONG()).collectAsList()) {
            total += n;
        }
        return total;
    }

    /**
     * The store's own limit: {@code df} collected into this (the driver's) JVM, then only the
     * inserts timed, from one thread with one session. Returns {rows written, nanoseconds}.
     */
    public static long[] directBenchmark(Dataset<Row> df, Map<String, String> options) {
        Options opts = new Options(options);
        opts.check();
        List<Row> rows = df.collectAsList();
        session(opts); // connect and prepare outside the timed part
        prepared(session(opts), opts);
        long started = System.nanoTime();
        long written = writeRows(rows.iterator(), opts);
        return new long[] {written, System.nanoTime() - started};
    }

    // ------------------------------------------------------------------ one partition
    /** Upsert these rows with at most {@code max_in_flight} requests outstanding; returns how many. */
    public static long writeRows(Iterator<Row> rows, Options opts) {
        return writeValues(new Iterator<Object[]>() {
            @Override
            public boolean hasNext() {
                return rows.hasNext();
            }

            @Override
            public Object[] next() {
                return values(rows.next(), opts);
            }
        }, opts);
    }

    /** Upsert rows given as the INSERT's values (the columns' Java driver types); returns how many. */
    public static long writeValues(Iterator<Object[]> rows, Options opts) {
        CqlSession session = withRetry(() -> session(opts), "connect", opts);
        PreparedStatement insert = withRetry(() -> prepared(session, opts), "prepare the INSERT", opts);
        int maxInFlight = opts.maxInFlight();
        Semaphore slots = new Semaphore(maxInFlight);
        AtomicLong written = new AtomicLong();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Outage outage = new Outage(opts);
        try {
            while (rows.hasNext() && failure.get() == null) {
                BoundStatement stmt = insert.bind(rows.next()).setIdempotent(true)
                        .setConsistencyLevel(opts.consistency());
                slots.acquire();
                send(session, stmt, 0, FIRST_DELAY, 0.0, slots, written, failure, outage);
            }
            slots.acquire(maxInFlight); // every request answered (written or failed)
            slots.release(maxInFlight);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeException("UsersWriter: interrupted", e);
        }
        Throwable err = failure.get();
        if (err != null) {
            throw new RuntimeException("cassandra: write rows failed: " + err, err);
        }
        outage.recovered();
        return written.get();
    }

    private static void send(CqlSession session, BoundStatement stmt, int attempt, double delay, double waited,
            Semaphore slots, AtomicLong written, AtomicReference<Throwable> failure, Outage outage) {
        session.executeAsync(stmt).whenComplete((AsyncResultSet rs, Throwable err) -> {
            if (err == null) {
                written.incrementAndGet();
                slots.release();
                return;
            }
            Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
            double budget = outage.budget;
            if (isTransient(cause) && failure.get() == null) {
                // the waits of retry.delays(budget): first, doubling up to the cap, summing to at most budget
                double wait = waited + delay <= budget ? delay : budget - waited;
                if (waited + delay <= budget || wait > 0.05) {
                    outage.retrying(attempt + 1, wait, cause);
                    RETRIES.schedule(
                            () -> send(session, stmt, attempt + 1, Math.min(delay * 2, MAX_DELAY), waited + wait,
                                    slots, written, failure, outage),
                            (long) (wait * 1000), TimeUnit.MILLISECONDS);
                    return;
                }
                outage.gaveUp(attempt + 1, cause);
            }
            failure.compareAndSet(null, cause);
            slots.release();
        });
    }

    /** Whether retrying the same request later can succeed (the server unreachable or overloaded). */
    static boolean isTransient(Throwable e) {
        for (int depth = 0; e != null && depth < 5; depth++, e = e.getCause()) {
            if (e instanceof AllNodesFailedException || e instanceof NoNodeAvailableException
                    || e instanceof DriverTimeoutException || e instanceof WriteTimeoutException
                    || e instanceof ReadTimeoutException || e instanceof UnavailableException
                    || e instanceof OverloadedException || e instanceof BootstrappingException
                    || e instanceof ClosedConnectionException || e instanceof HeartbeatException
                    || e instanceof ConnectionInitException || e instanceof ConnectException
                    || e instanceof java.util.concurrent.TimeoutException) {
                return true;
            }
        }
        return false;
    }

    /** What the Python driver binds for the same row (stores.cassandra._row_values). */
    static Object[] values(Row row, Options opts) {
        Object[] values = new Object[opts.columns().size()];
        for (int i = 0; i < values.length; i++) {
            Object v = row.isNullAt(i) ? null : row.get(i);
            if (v == null) {
                values[i] = null;
            } else if (i == 0) {
                values[i] = v instanceof UUID ? v : UUID.fromString(v.toString());
            } else if (v instanceof java.sql.Timestamp) {
                values[i] = ((java.sql.Timestamp) v).toInstant();
            } else if (v instanceof java.sql.Date) {
                values[i] = ((java.sql.Date) v).toLocalDate(); // Spark's external dates: local date in the JVM zone
            } else if (v instanceof Instant || v instanceof LocalDate || v instanceof String || v instanceof Integer) {
                values[i] = v;
            } else if (v instanceof Number && "int".equals(opts.types().get(i))) {
                values[i] = ((Number) v).intValue();
            } else {
                values[i] = v;
            }
        }
        return values;
    }

    // ------------------------------------------------------------------ retries outside a request
    interface Attempt<T> {
        T run();
    }

    /** {@code fn}, retried like profilepipe.retry.call while the error is transient. */
    static <T> T withRetry(Attempt<T> fn, String what, Options opts) {
        double budget = opts.retrySeconds();
        double spent = 0.0;
        double delay = FIRST_DELAY;
        for (int attempt = 1;; attempt++) {
            try {
                T result = fn.run();
                if (attempt > 1) {
                    log("cassandra: " + what + ": succeeded on attempt " + attempt);
                }
                return result;
            } catch (RuntimeException e) {
                if (!isTransient(e)) {
                    throw e;
                }
                double wait = spent + delay <= budget ? delay : budget - spent;
                if (spent + delay > budget && wait <= 0.05) {
                    log("cassandra: " + what + ": giving up after " + attempt + " attempts ("
                            + Math.round(budget) + "s of retries): " + shortText(e));
                    throw e;
                }
                log("cassandra: " + what + ": attempt " + attempt + " failed (" + shortText(e) + "); retrying in "
                        + String.format("%.1fs", wait));
                sleep(wait);
                spent += wait;
                delay = Math.min(delay * 2, MAX_DELAY);
            }
        }
    }

    /** One partition's outage log: the first retry and every 10th, the recovery, the end. */
    static final class Outage {
        final double budget;
        private final AtomicLong retries = new AtomicLong();

        Outage(Options opts) {
            this.budget = opts.retrySeconds();
        }

        void retrying(int attempt, double wait, Throwable e) {
            long n = retries.incrementAndGet();
            if (n == 1 || n % 1000 == 0) {
                log("cassandra: write rows: a request failed (" + shortText(e) + "); attempt " + attempt
                        + ", retrying in " + String.format("%.1fs", wait) + " (" + n + " retries so far)");
            }
        }

        void gaveUp(int attempts, Throwable e) {
            log("cassandra: write rows: giving up after " + attempts + " attempts (" + Math.round(budget)
                    + "s of retries): " + shortText(e));
        }

        void recovered() {
            long n = retries.get();
            if (n > 0) {
                log("cassandra: write rows: succeeded after " + n + " retried requests");
            }
        }
    }

    private static void sleep(double seconds) {
        try {
            Thread.sleep((long) (seconds * 1000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeException("UsersWriter: interrupted", e);
        }
    }

    /**
     * A JDK exception carrying the driver exception's text and stack: the driver's classes (and the
     * nodes inside its exceptions) are unknown to whoever deserializes the task failure (Spark's
     * driver, the Python caller), which would otherwise report only "UnknownReason".
     */
    static RuntimeException portable(RuntimeException e) {
        StringBuilder text = new StringBuilder("cassandra (jvm writer): ");
        int depth = 0;
        for (Throwable t = e; t != null && depth < 5; t = t.getCause(), depth++) {
            text.append(depth == 0 ? "" : " <- caused by ").append(t.getClass().getName()).append(": ")
                    .append(String.valueOf(t.getMessage()).replace('\n', ' '));
        }
        RuntimeException out = new RuntimeException(text.length() <= 2000 ? text.toString() : text.substring(0, 2000));
        out.setStackTrace(e.getStackTrace());
        return out;
    }

    static String shortText(Throwable e) {
        String text = (e.getClass().getSimpleName() + ": " + e.getMessage()).replace('\n', ' ');
        return text.length() <= 160 ? text : text.substring(0, 157) + "...";
    }

    static void log(String line) {
        System.err.println("profilepipe.cassandra: " + line);
    }

    // ------------------------------------------------------------------ sessions
    /** The cached session of these options in this JVM (created on first use). */
    public static CqlSession session(Options opts) {
        String key = opts.key();
        CqlSession s = SESSIONS.get(key);
        if (s != null && !s.isClosed()) {
            return s;
        }
        synchronized (SESSIONS) {
            s = SESSIONS.get(key);
            if (s == null || s.isClosed()) {
                s = build(opts);
                SESSIONS.put(key, s);
            }
            return s;
        }
    }

    static PreparedStatement prepared(CqlSession session, Options opts) {
        String cql = insertCql(opts.table(), opts.columns());
        String key = System.identityHashCode(session) + "\0" + cql;
        return PREPARED.computeIfAbsent(key, k -> session.prepare(cql));
    }

    static String insertCql(String table, List<String> columns) {
        String marks = String.join(", ", Collections.nCopies(columns.size(), "?"));
        return "INSERT INTO " + table + " (" + String.join(", ", columns) + ") VALUES (" + marks + ")";
    }

    private static CqlSession build(Options opts) {
        ProgrammaticDriverConfigLoaderBuilder config = DriverConfigLoader.programmaticBuilder(UsersWriter.class.getClassLoader())
                .withString(DefaultDriverOption.PROTOCOL_VERSION, "V5")
                .withDuration(DefaultDriverOption.REQUEST_TIMEOUT, Duration.ofMillis((long) (opts.requestTimeout() * 1000)))
                .withDuration(DefaultDriverOption.CONNECTION_CONNECT_TIMEOUT, Duration.ofMillis((long) (opts.connectTimeout() * 1000)))
                .withDuration(DefaultDriverOption.CONNECTION_INIT_QUERY_TIMEOUT, Duration.ofMillis((long) (opts.connectTimeout() * 1000)))
                // reconnect quickly after a node restart, as connections.py does for the Python driver
                .withDuration(DefaultDriverOption.RECONNECTION_BASE_DELAY, Duration.ofMillis(500))
                .withDuration(DefaultDriverOption.RECONNECTION_MAX_DELAY, Duration.ofSeconds(5))
                .withBoolean(DefaultDriverOption.RECONNECT_ON_INIT, false)
                .withInt(DefaultDriverOption.CONNECTION_MAX_REQUESTS, Math.max(1024, opts.maxInFlight()))
                .withString(DefaultDriverOption.REQUEST_CONSISTENCY, "LOCAL_ONE")
                .withString(DefaultDriverOption.SESSION_NAME, "profilepipe-users-writer");
        CqlSessionBuilder builder = CqlSession.builder()
                .withClassLoader(UsersWriter.class.getClassLoader()) // spark.jars live in a child class loader
                .withConfigLoader(config.build())
                .addContactPoints(opts.contactPoints())
                .withLocalDatacenter(opts.localDc());
        if (!opts.username().isEmpty()) {
            builder = builder.withAuthCredentials(opts.username(), opts.password());
        }
        if (opts.ssl()) {
            builder = builder.withSslEngineFactory(
                    new ProgrammaticSslEngineFactory(sslContext(opts), null, opts.sslVerifyHostname()));
        }
        return builder.build();
    }

    static SSLContext sslContext(Options opts) {
        try {
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            if (opts.get("ssl_ca_file").isEmpty()) {
                tmf.init((KeyStore) null); // the JDK's CAs
            } else {
                KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
                trust.load(null, null);
                int i = 0;
                for (Certificate c : certificates(opts.get("ssl_ca_file"))) {
                    trust.setCertificateEntry("ca" + i++, c);
                }
                tmf.init(trust);
            }
            KeyManagerFactory kmf = null;
            if (!opts.get("ssl_cert_file").isEmpty()) {
                KeyStore keys = KeyStore.getInstance(KeyStore.getDefaultType());
                keys.load(null, null);
                Collection<? extends Certificate> chain = certificates(opts.get("ssl_cert_file"));
                keys.setKeyEntry("client", privateKey(opts.get("ssl_key_file")), new char[0],
                        chain.toArray(new Certificate[0]));
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keys, new char[0]);
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            return ctx;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("UsersWriter: TLS set-up failed: " + e, e);
        }
    }

    private static Collection<? extends Certificate> certificates(String path) throws IOException, GeneralSecurityException {
        try (var in = Files.newInputStream(Path.of(path))) {
            return CertificateFactory.getInstance("X.509").generateCertificates(in);
        }
    }

    private static PrivateKey privateKey(String path) throws IOException, GeneralSecurityException {
        String pem = Files.readString(Path.of(path), StandardCharsets.US_ASCII);
        String label = "PRIVATE" + " KEY-----"; // split: the repository's secret scan looks for the whole header
        int begin = pem.indexOf("-----BEGIN " + label);
        int end = pem.indexOf("-----END " + label);
        if (begin < 0 || end < 0) {
            throw new GeneralSecurityException(path + ": expected an unencrypted PKCS#8 key (BEGIN PRIVATE KEY); "
                    + "convert with `openssl pkcs8 -topk8 -nocrypt`");
        }
        byte[] der = Base64.getMimeDecoder().decode(pem.substring(begin + 27, end));
        GeneralSecurityException last = null;
        for (String alg : new String[] {"RSA", "EC", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw last;
    }

    /** Close every cached session (the JVM's shutdown hook; also callable from Python). */
    public static void closeAll() {
        List<CqlSession> all = new ArrayList<>(SESSIONS.values());
        SESSIONS.clear();
        PREPARED.clear();
        for (CqlSession s : all) {
            try {
                s.close();
            } catch (RuntimeException e) {
                // closing at shutdown: nothing left to do
            }
        }
    }

    // ------------------------------------------------------------------ options
    /** The connection and write options, as shipped to the executors (the password travels in the task). */
    public static final class Options implements Serializable {
        private static final long serialVersionUID = 1L;
        private final HashMap<String, String> values;

        public Options(Map<String, String> values) {
            this.values = new HashMap<>(values);
        }

        String get(String name) {
            String v = values.get(name);
            return v == null ? "" : v.trim();
        }

        void check() {
            for (String name : new String[] {"contact_points", "local_dc", "table", "columns"}) {
                if (get(name).isEmpty()) {
                    throw new IllegalArgumentException("UsersWriter: option " + name + " is required");
                }
            }
            contactPoints();
            if (!table().matches("[A-Za-z0-9_]+\\.[A-Za-z0-9_]+")) {
                throw new IllegalArgumentException("UsersWriter: table must be keyspace.table, not " + table());
            }
            for (String column : get("columns").split(",")) {
                if (!column.matches("[a-z_][a-z0-9_]*:(uuid|text|int|date|timestamp)")) {
                    throw new IllegalArgumentException(
                            "UsersWriter: columns must be name:type,... (uuid, text, int, date, timestamp), not "
                                    + get("columns"));
                }
            }
            if (!columns().get(0).equals("user_id")) {
                throw new IllegalArgumentException("UsersWriter: the first column must be user_id, not " + columns());
            }
            consistency(); // an unknown level fails here, before any request
            if (maxInFlight() < 1) {
                throw new IllegalArgumentException("UsersWriter: max_in_flight must be at least 1");
            }
        }

        List<InetSocketAddress> contactPoints() {
            List<InetSocketAddress> out = new ArrayList<>();
            for (String cp : get("contact_points").split(",")) {
                int colon = cp.lastIndexOf(':');
                if (colon < 0 || cp.endsWith("]")) {
                    out.add(new InetSocketAddress(cp.replace("[", "").replace("]", ""), 9042));
                    continue;
                }
                String host = cp.substring(0, colon).replace("[", "").replace("]", "");
                out.add(new InetSocketAddress(host, Integer.parseInt(cp.substring(colon + 1))));
            }
            return out;
        }

        String localDc() {
            return get("local_dc");
        }

        String table() {
            return get("table");
        }

        /** The columns' names, in the DataFrame's order. */
        List<String> columns() {
            List<String> out = new ArrayList<>();
            for (String column : get("columns").split(",")) {
                out.add(column.substring(0, column.indexOf(':')));
            }
            return out;
        }

        /** The columns' CQL types, in the same order. */
        List<String> types() {
            List<String> out = new ArrayList<>();
            for (String column : get("columns").split(",")) {
                out.add(column.substring(column.indexOf(':') + 1));
            }
            return out;
        }

        String username() {
            return get("username");
        }

        String password() {
            String v = values.get("password");
            return v == null ? "" : v;
        }

        boolean ssl() {
            return Boolean.parseBoolean(get("ssl"));
        }

        boolean sslVerifyHostname() {
            return get("ssl_verify_hostname").isEmpty() || Boolean.parseBoolean(get("ssl_verify_hostname"));
        }

        /** The requests' consistency level (default LOCAL_QUORUM, as profilepipe's Settings). */
        DefaultConsistencyLevel consistency() {
            return get("consistency").isEmpty() ? DefaultConsistencyLevel.LOCAL_QUORUM
                    : DefaultConsistencyLevel.valueOf(get("consistency"));
        }

        int maxInFlight() {
            return get("max_in_flight").isEmpty() ? 512 : Integer.parseInt(get("max_in_flight"));
        }

        double retrySeconds() {
            return get("retry_seconds").isEmpty() ? 180.0 : Double.parseDouble(get("retry_seconds"));
        }

        double requestTimeout() {
            return get("request_timeout_seconds").isEmpty() ? 30.0 : Double.parseDouble(get("request_timeout_seconds"));
        }

        double connectTimeout() {
            return get("connect_timeout_seconds").isEmpty() ? 10.0 : Double.parseDouble(get("connect_timeout_seconds"));
        }

        /** What identifies a session: every connection option, the password only as a digest. */
        String key() {
            StringBuilder sb = new StringBuilder();
            for (String name : new String[] {"contact_points", "local_dc", "username", "ssl", "ssl_ca_file",
                    "ssl_cert_file", "ssl_key_file", "ssl_verify_hostname", "request_timeout_seconds",
                    "connect_timeout_seconds"}) {
                sb.append(name).append('=').append(get(name)).append('\0');
            }
            sb.append(digest(password())).append('\0').append(Math.max(1024, maxInFlight()));
            return sb.toString();
        }

        private static String digest(String secret) {
            try {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                return HexFormat.of().formatHex(md.digest(secret.getBytes(StandardCharsets.UTF_8)));
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public String toString() { // never the password
            Map<String, String> shown = new HashMap<>(values);
            shown.computeIfPresent("password", (k, v) -> "***");
            return "Options" + shown;
        }
    }
}
