// MongoDB wire-compatible server for the local profilepipe stack (no MongoDB install needed).
//
// Usage: java -cp '<jars>/mongo/*:<jars>/mongo/launcher' MongoLauncher HOST PORT DATA_FILE [VERSION WIRE]
//
// Binds HOST:PORT with mongo-java-server's H2 (MVStore) file backend, so data survives restarts.
// The reported server version defaults to 4.4.0 with wire version 9: PyMongo 4.20 refuses servers
// below wire 9 (MongoDB 4.4), and every ServerVersion the library ships reports at most wire 8
// (its MONGO_5_0 says 8). The version only feeds hello/isMaster/buildInfo answers.
// Compiled with javac 17 by `profilepipe stack fetch` into the jars cache.

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

public final class MongoLauncher {
    private MongoLauncher() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: MongoLauncher HOST PORT DATA_FILE [VERSION WIRE]");
            System.exit(2);
        }
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        String file = args[2];
        String versionString = args.length > 3 ? args[3] : "4.4.0";
        int wire = args.length > 4 ? Integer.parseInt(args[4]) : 9;
        List<Integer> parts = new ArrayList<>();
        for (String part : versionString.split("\\.")) {
            parts.add(Integer.parseInt(part));
        }
        List<Integer> versionArray = List.copyOf(parts);
        MongoVersion version = new MongoVersion() {
            @Override
            public List<Integer> getVersionArray() {
                return versionArray;
            }

            @Override
            public int getWireVersion() {
                return wire;
            }
        };

        H2Backend backend = new H2Backend(file);
        backend.version(version);
        MongoServer server = new MongoServer(backend);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("MongoLauncher: shutting down, flushing " + file);
            try {
                server.shutdown(); // closes the backend, which commits and closes the MVStore
            } finally {
                stopped.countDown();
            }
        }, "mongo-shutdown"));
        server.bind(host, port);
        System.out.println("MongoLauncher: listening on " + host + ":" + port + " (reports MongoDB "
                + version.toVersionString() + ", wire " + wire + ", h2 file " + file + ")");
        System.out.flush();
        stopped.await();
    }
}
