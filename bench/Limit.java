package profilepipe.cassandra;

import com.datastax.oss.driver.api.core.CqlSession;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Cassandra's own ingest limit: the fastest client (this driver, async prepared INSERTs, a bounded
 * number in flight, one thread, one session) in a JVM of its own, with nothing else in it.
 *
 * <p>Not part of the writer's jar: bench/cassandra_limit.py compiles it against that jar at each
 * run (in the writer's package, whose package-private helpers it calls) and runs it.
 *
 * <p>Usage: {@code java -cp '<classes>:<jars>/cassandra-writer/*:<pyspark>/jars/*' profilepipe.cassandra.Limit
 * ROWS_DIR WARMUP key=value...} with the options of {@link UsersWriter} (contact_points, local_dc,
 * table, max_in_flight, ...). ROWS_DIR holds text files (Spark's {@code write.text}) of one row a
 * line, the {@code columns} option's columns tab-separated: uuid as text, text columns hex of
 * UTF-8, dates ISO, ints decimal, timestamps as microseconds since the epoch, {@code \N} for null
 * (bench/cassandra_limit.py writes them). The first WARMUP rows are written once untimed,
 * then the table is truncated and every row written, timed. Prints one line:
 * {@code limit rows=N seconds=S}.
 */
public final class Limit {
    private Limit() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: Limit ROWS_DIR WARMUP key=value...");
            System.exit(2);
        }
        Map<String, String> options = new HashMap<>();
        for (int i = 2; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            options.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        UsersWriter.Options opts = new UsersWriter.Options(options);
        opts.check();
        List<Object[]> rows = read(Path.of(args[0]), opts.types());
        int warmup = Math.min(Integer.parseInt(args[1]), rows.size());
        CqlSession session = UsersWriter.session(opts);
        UsersWriter.prepared(session, opts);
        if (warmup > 0) {
            UsersWriter.writeValues(rows.subList(0, warmup).iterator(), opts);
        }
        session.execute(com.datastax.oss.driver.api.core.cql.SimpleStatement
                .newInstance("TRUNCATE " + opts.table()).setTimeout(Duration.ofSeconds(120)));
        long started = System.nanoTime();
        long written = UsersWriter.writeValues(rows.iterator(), opts);
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.println("limit rows=" + written + " seconds=" + seconds);
        UsersWriter.closeAll();
    }

    static List<Object[]> read(Path dir, List<String> types) throws IOException {
        List<Object[]> rows = new ArrayList<>();
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList();
        }
        for (Path file : files) {
            try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    String[] f = line.split("\t", -1);
                    Object[] v = new Object[types.size()];
                    for (int i = 0; i < v.length; i++) {
                        String s = f[i];
                        String type = types.get(i);
                        if (s.equals("\\N")) {
                            v[i] = null;
                        } else if (type.equals("uuid")) {
                            v[i] = UUID.fromString(s);
                        } else if (type.equals("date")) {
                            v[i] = LocalDate.parse(s);
                        } else if (type.equals("int")) {
                            v[i] = Integer.parseInt(s);
                        } else if (type.equals("timestamp")) {
                            long micros = Long.parseLong(s);
                            v[i] = Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L),
                                    Math.floorMod(micros, 1_000_000L) * 1000L);
                        } else {
                            v[i] = new String(HexFormat.of().parseHex(s), StandardCharsets.UTF_8);
                        }
                    }
                    rows.add(v);
                }
            }
        }
        return rows;
    }
}
