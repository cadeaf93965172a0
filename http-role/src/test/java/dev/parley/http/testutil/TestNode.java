package dev.parley.http.testutil;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.zaxxer.hikari.HikariDataSource;
import dev.parley.http.HttpRole;
import dev.parley.http.blob.BlobStores;
import dev.parley.http.db.Database;
import dev.parley.http.db.DbSettings;
import dev.parley.http.db.Schema;
import dev.parley.protocol.WireProtocol;
import dev.parley.protocol.blob.BlobStore;
import dev.parley.protocol.worker.InferenceProtocol;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;

/**
 * A one-node cluster (or a node joining another's) running the http role as Main would: real config (config/application.conf)
 * with test overrides, schema migrated, blob store, optionally a fake gpu worker, API on a free port.
 */
public final class TestNode implements AutoCloseable {
  public final ActorSystem<Void> system;
  public final HikariDataSource ds;
  public final BlobStore blobs;
  public final HttpRole.Handle http;
  public final DbSettings db;
  public final String base;

  /** Short timeouts for tests; {@code extra} wins over them. */
  public static String testOverrides(Path dataDir) {
    return String.join("\n",
        "parley.data-dir = \"" + dataDir.toString().replace("\\", "/") + "\"",
        "parley.cluster.port = 0",
        "parley.host = \"127.0.0.1\"",
        "parley.http.bind-host = \"127.0.0.1\"",
        "parley.http.port = 0",
        "parley.http.max-upload = 1MiB",
        "parley.http.jwt-secret = \"test-secret-0123456789abcdef\"",
        "parley.http.ask-timeout = 10s", // the default: 30 uploads at once on a loaded 2-core machine took more than 5 s
        "parley.http.upload-stall-timeout = 2s",
        "parley.auth.bcrypt-cost = 4",
        "parley.meeting.resend-interval = 300ms",
        "parley.meeting.heartbeat-timeout = 3s",
        "parley.meeting.passivate-after = 2s",
        "parley.meeting.max-attempts = 3",
        "parley.meeting.retry-backoff = 200ms",
        "parley.read-side.min-backoff = 200ms",
        "jdbc-read-journal.refresh-interval = 100ms",
        "jdbc-read-journal.journal-sequence-retrieval.query-delay = 100ms",
        "pekko.coordinated-shutdown.exit-jvm = off",
        "pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off",
        "pekko.cluster.jmx.multi-mbeans-in-same-jvm = on",
        // a stopping test node need not wait for the gpu proxy's buffered messages
        "pekko.coordinated-shutdown.phases.cluster-sharding-shutdown-region.timeout = 2s",
        "pekko.loglevel = WARNING");
  }

  /** The embedded default's database: an H2 file under {@code dataDir}, as a node with no PARLEY_DB_URL has it. */
  public static DbSettings embeddedH2(Path dataDir) {
    return DbSettings.fromConfig(ConfigFactory.parseString(
        "data-dir = \"" + dataDir + "\"\ndb { url = \"\", user = \"\", password = \"\", pool-size = 4 }"));
  }

  public static Config config(Path dataDir, DbSettings db, List<String> roles, String extra) {
    Config overrides = ConfigFactory.parseString(extra == null ? "" : extra)
        .withFallback(ConfigFactory.parseString(testOverrides(dataDir)))
        .withFallback(ConfigFactory.parseString("pekko.cluster.roles = [" + String.join(",", roles) + "]"))
        // as Main has it: the split-brain resolver's lease (PostgreSQL) reads the database from parley.db
        .withFallback(ConfigFactory.parseMap(Map.of(
            "parley.db.url", db.url(), "parley.db.user", db.user(), "parley.db.password", db.password(),
            // as NodeConfig has it: the release, which keyed uploads check every http member for
            "pekko.cluster.app-version", WireProtocol.RELEASE)))
        .withFallback(db.pekkoConfig());
    return ConfigFactory.load(overrides.withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
  }

  /**
   * Starts the node. {@code worker} (may be null) is the gpu worker behaviour factory, initialised
   * before the http role when the node has the gpu role.
   */
  public static TestNode start(String name, Path dataDir, DbSettings db, List<String> roles, String extra,
      FakeWorker.Factory worker) {
    return start(name, dataDir, db, roles, extra, worker, null);
  }

  /**
   * As above, joining the cluster of the node at {@code joinTo} (the same {@code name}), or forming
   * one of its own when null.
   */
  public static TestNode start(String name, Path dataDir, DbSettings db, List<String> roles, String extra,
      FakeWorker.Factory worker, Address joinTo) {
    Config config = config(dataDir, db, roles, extra);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), name, config);
    HikariDataSource ds = null;
    try {
      Cluster cluster = Cluster.get(system);
      cluster.manager().tell(Join.create(joinTo == null ? cluster.selfMember().address() : joinTo));
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (cluster.selfMember().status() != MemberStatus.up()) {
        if (System.nanoTime() > deadline) throw new IllegalStateException("node did not come up");
        Thread.sleep(50);
      }
      ds = Database.create(db);
      Schema.migrate(db);
      BlobStore blobs = BlobStores.create(BlobStores.Kind.parse(config.getString("parley.blob.store")), dataDir,
          config.getBytes("parley.blob.chunk-size"), ds);
      if (worker != null && roles.contains(InferenceProtocol.GPU_ROLE)) {
        ClusterSharding.get(system).init(Entity.of(InferenceProtocol.WORKER,
            ctx -> worker.create(ctx.getEntityId(), blobs)).withRole(InferenceProtocol.GPU_ROLE));
      }
      HttpRole.Handle http = HttpRole.start(system, blobs, ds, db);
      return new TestNode(system, ds, blobs, http, db);
    } catch (Exception e) {
      system.terminate();
      if (ds != null) ds.close();
      throw new IllegalStateException("test node failed to start: " + e.getMessage(), e);
    }
  }

  private TestNode(ActorSystem<Void> system, HikariDataSource ds, BlobStore blobs, HttpRole.Handle http, DbSettings db) {
    this.system = system;
    this.ds = ds;
    this.blobs = blobs;
    this.http = http;
    this.db = db;
    this.base = "http://127.0.0.1:" + http.port();
  }

  @Override
  public void close() {
    http.stop(Duration.ofSeconds(2));
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      System.err.println("test node did not terminate: " + e);
    }
    ds.close();
  }
}
