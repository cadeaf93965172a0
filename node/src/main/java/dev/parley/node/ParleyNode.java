package dev.parley.node;

import com.typesafe.config.Config;
import com.zaxxer.hikari.HikariDataSource;
import dev.parley.gpu.GpuRole;
import dev.parley.gpu.pipeline.Diarizer;
import dev.parley.gpu.pipeline.PipelineSettings;
import dev.parley.gpu.worker.GpuSettings;
import dev.parley.http.HttpRole;
import dev.parley.http.HttpSettings;
import dev.parley.http.blob.BlobStores;
import dev.parley.http.db.Database;
import dev.parley.http.db.DbSettings;
import dev.parley.http.db.Schema;
import dev.parley.http.meeting.MeetingSettings;
import dev.parley.http.meeting.list.MeetingListProjection;
import dev.parley.protocol.WireProtocol;
import dev.parley.protocol.blob.BlobStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running Parley node: reads the typed settings, prepares the database and blob store, starts
 * the ActorSystem {@code parley} with the derived cluster settings, then the gpu role (first: its
 * worker sharding init must win over the http role's proxy on a combined node) and the http role.
 */
public final class ParleyNode {
  private static final Logger log = LoggerFactory.getLogger(ParleyNode.class);

  /**
   * How long a node keeps retrying while its database comes up: an http node's schema migration, a
   * gpu-only node's first query of the database that holds its jobs' audio.
   */
  static final Duration DB_STARTUP_TIMEOUT = Duration.ofSeconds(30);

  private final NodeSettings settings;
  private final DbSettings db;
  private final ActorSystem<Void> system;
  private final HikariDataSource dataSource;
  private final GpuRole gpu;
  private final HttpRole.Handle http;
  /** Completes once the actor system has terminated and the node's pool and pipeline are closed. */
  private final CompletableFuture<Done> closed = new CompletableFuture<>();

  private ParleyNode(NodeSettings settings, DbSettings db, ActorSystem<Void> system, HikariDataSource dataSource,
      GpuRole gpu, HttpRole.Handle http) {
    this.settings = settings;
    this.db = db;
    this.system = system;
    this.dataSource = dataSource;
    this.gpu = gpu;
    this.http = http;
  }

  /**
   * @param loaded the loaded configuration (see {@link NodeConfig#load()})
   * @param standalone a real process (exit the JVM after coordinated shutdown)
   * @param diarizers builds the Diarizer from the {@code parley} config section; used only on gpu nodes
   */
  public static ParleyNode start(Config loaded, boolean standalone, Function<Config, Diarizer> diarizers) {
    long t0 = System.nanoTime();
    Config parley = loaded.getConfig("parley");
    NodeSettings node = NodeSettings.fromConfig(parley);
    DbSettings db = DbSettings.fromConfig(parley);
    checkSettings(loaded, parley, node, db);
    createDataDir(node);
    boolean postgresBlobs = node.blobStore() == BlobStores.Kind.DATABASE;

    // a gpu node loads its models while the database, actor system and cluster join get ready
    CompletableFuture<Diarizer> loading = node.isGpu() ? loadInBackground(diarizers, parley) : null;
    // the database: http nodes always (journal, users, read side); gpu-only nodes only for blobs
    HikariDataSource ds = null;
    Diarizer diarizer = null;
    ActorSystem<Void> system = null;
    try {
      if (node.isHttp() || postgresBlobs) ds = Database.create(db);
      if (node.isHttp()) {
        untilReady(db, () -> Schema.migrate(db));
      } else if (ds != null) {
        HikariDataSource blobDb = ds;
        untilReady(db, () -> ping(blobDb)); // its jobs' audio is there: a node that cannot read it would fail them all
      }
      BlobStore blobs = BlobStores.create(node.blobStore(), node.dataDir(), node.blobChunkSize(), ds);

      Config config = NodeConfig.overlay(node, db, standalone).withFallback(loaded);
      system = createSystem(config, node);
      Cluster cluster = Cluster.get(system);
      Address self = cluster.selfMember().address();
      if (node.seedNodes().isEmpty()) cluster.manager().tell(Join.create(self));

      // before the gpu role, so that a node whose probe cannot bind exits before it takes a job
      if (!node.isHttp()) GpuHealth.bind(system, node.httpBindHost(), node.httpPort());
      GpuRole gpu = null;
      if (loading != null) {
        diarizer = awaitLoaded(loading);
        gpu = GpuRole.start(system, blobs, diarizer);
      }
      HttpRole.Handle http = node.isHttp() ? HttpRole.start(system, blobs, ds, db) : null;

      ParleyNode started = new ParleyNode(node, db, system, ds, gpu, http);
      started.closeResourcesOnTermination(diarizer);
      if (ds != null && !db.isPostgres()) closeH2BeforeTermination(system, db);
      log.info("Parley {} node started in {} ms: roles {}, {}cluster {} (seeds {}), db {}, blob store {}",
          WireProtocol.RELEASE, (System.nanoTime() - t0) / 1_000_000, node.roles(),
          http != null ? "http port " + http.port() + ", " : "",
          self, node.seedNodes().isEmpty() ? "self" : node.seedNodes(),
          ds == null ? "none" : (db.isPostgres() ? "postgres " : "h2 ") + db.safeUrl(), node.blobStore());
      return started;
    } catch (RuntimeException | Error e) {
      // logged here: terminating runs coordinated shutdown, which may exit the JVM (code 1) before
      // Main gets to print why
      log.error("the node could not start: {}", StartFailures.describe(e));
      if (system != null) system.terminate();
      if (diarizer != null) {
        diarizer.close();
      } else if (loading != null) {
        loading.thenAccept(Diarizer::close); // a pipeline that finishes loading after a failed start
      }
      if (ds != null) ds.close();
      throw e;
    }
  }

  /**
   * Reads every setting of the node's roles before anything starts, so that a mistyped one stops the
   * node at once (exit 2), not after it has joined the cluster; warns of combinations that start but
   * cannot work as meant.
   */
  private static void checkSettings(Config loaded, Config parley, NodeSettings node, DbSettings db) {
    if (node.isHttp()) {
      // every setting the http role reads once it has started is checked here, before the actor
      // system exists: a bad one then exits 2, not 1 with coordinated shutdown's exit racing Main's
      HttpSettings http = HttpSettings.fromConfig(parley);
      MeetingSettings.fromConfig(parley);
      MeetingListProjection.Settings.fromConfig(parley);
      if (db.isPostgres() && http.jwtSecret().isBlank()) {
        // a secret generated per node: each http node would refuse the tokens the others signed,
        // and a client behind a load balancer would be logged out at random
        throw new IllegalArgumentException("PARLEY_JWT_SECRET must be set on PostgreSQL, the same on every http node:"
            + " a secret generated by each node would make it refuse the tokens the others sign");
      }
    }
    if (node.isGpu()) {
      GpuSettings.fromConfig(parley);
      PipelineSettings.fromConfig(parley);
    }
    Duration stableAfter = loaded.getDuration("pekko.cluster.split-brain-resolver.stable-after");
    if (stableAfter.isNegative() || stableAfter.isZero()) {
      throw new IllegalArgumentException("PARLEY_SBR_STABLE_AFTER must be positive, not " + text(stableAfter));
    }
    if (node.isHttp() && db.isPostgres()) checkLease(parley.getConfig("cluster.lease"));
    Duration gpuDownAfter = parley.getDuration("gpu.down-unreachable-after");
    if (node.isHttp() && gpuDownAfter.compareTo(stableAfter) >= 0) {
      log.warn("PARLEY_GPU_DOWN_AFTER ({}) is not below PARLEY_SBR_STABLE_AFTER ({}): the split-brain resolver, not the"
          + " http nodes, will decide on every crashed gpu node, and each such decision needs the lease (the database)",
          text(gpuDownAfter), text(stableAfter));
    }
    boolean postgresBlobs = node.blobStore() == BlobStores.Kind.DATABASE;
    if (postgresBlobs && !db.isPostgres()) {
      throw new IllegalArgumentException("PARLEY_BLOB_STORE=postgres needs PARLEY_DB_URL=jdbc:postgresql://...");
    }
    if (!node.isHttp() && node.seedNodes().isEmpty()) {
      log.warn("gpu-only node without PARLEY_SEED_NODES: it forms a cluster of its own and no http node will find it");
    }
    if (!node.isHttp() && !postgresBlobs) {
      log.warn("gpu-only node with the file blob store: it must share {} with the http nodes", node.dataDir());
    }
    if (!node.isHttp() && !db.isPostgres()) {
      log.warn("gpu-only node without a PostgreSQL PARLEY_DB_URL: its split-brain resolver is keep-majority, and http "
          + "nodes on PostgreSQL (lease-majority) refuse it as an incompatible configuration (exit 2). Give it their "
          + "PARLEY_DB_URL: any node, a gpu node too, may be the leader that takes a downing decision, and that needs "
          + "the lease in the database");
    }
  }

  /**
   * The split-brain resolver's lease timing, as Pekko checks it only once the cluster has started
   * (a review: a bad value crashed the cluster with an unexplained error instead of exiting 2).
   */
  private static void checkLease(Config lease) {
    Duration timeout = lease.getDuration("heartbeat-timeout");
    Duration interval = lease.getDuration("heartbeat-interval");
    Duration operation = lease.getDuration("lease-operation-timeout");
    if (interval.multipliedBy(2).compareTo(timeout) >= 0 || operation.compareTo(timeout) >= 0) {
      throw new IllegalArgumentException("parley.cluster.lease: heartbeat-interval (" + text(interval) + ") must be less"
          + " than half of heartbeat-timeout (" + text(timeout) + "), and lease-operation-timeout (" + text(operation)
          + ") below it");
    }
  }

  private static String text(Duration d) {
    return d.toString().substring(2).toLowerCase(Locale.ROOT);
  }

  /** The data directory, created readable by this user alone when the node creates it. */
  private static void createDataDir(NodeSettings node) {
    try {
      boolean fresh = Files.notExists(node.dataDir());
      Files.createDirectories(node.dataDir());
      // it holds the database, every recording and the token secret: only this user may read it
      // (a directory that already exists is the operator's to set, a shared mount for one)
      if (fresh && node.dataDir().getFileSystem().supportedFileAttributeViews().contains("posix")) {
        Files.setPosixFilePermissions(node.dataDir(), PosixFilePermissions.fromString("rwx------"));
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot create data directory " + node.dataDir(), e);
    }
  }

  private static CompletableFuture<Diarizer> loadInBackground(Function<Config, Diarizer> diarizers, Config parley) {
    CompletableFuture<Diarizer> f = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      long t0 = System.nanoTime();
      try {
        Diarizer d = diarizers.apply(parley);
        log.info("diarization pipeline ready in {} ms", (System.nanoTime() - t0) / 1_000_000);
        f.complete(d);
      } catch (Throwable e) {
        f.completeExceptionally(e);
      }
    }, "parley-pipeline-loader");
    t.setDaemon(true);
    t.start();
    return f;
  }

  private static Diarizer awaitLoaded(CompletableFuture<Diarizer> loading) {
    try {
      return loading.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while the diarization pipeline loaded", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException re) throw re;
      if (cause instanceof Error err) throw err;
      throw new IllegalStateException("the diarization pipeline could not load: " + cause, cause);
    }
  }

  /**
   * Runs {@code attempt} until it succeeds, once a second while it fails with an {@link
   * IllegalStateException} (the database is not up yet), for at most {@link #DB_STARTUP_TIMEOUT}.
   */
  private static void untilReady(DbSettings db, Runnable attempt) {
    long deadline = System.nanoTime() + DB_STARTUP_TIMEOUT.toNanos();
    int tries = 0;
    while (true) {
      try {
        attempt.run();
        return;
      } catch (Schema.NeedsRepair e) {
        throw e; // trying again cannot help
      } catch (IllegalStateException e) {
        if (heldByAnotherProcess(e)) {
          // another node on the same data directory: it will not let go in 30 s, and two must not share it
          throw new StartFailures.Explained("the embedded database " + db.safeUrl() + " is in use by another process"
              + " (another Parley node on the same data directory?): stop that one, or give this node its own"
              + " PARLEY_DATA_DIR", e);
        }
        tries++;
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("the database " + db.safeUrl() + " was not ready after " + tries + " tries in "
              + DB_STARTUP_TIMEOUT.toSeconds() + " s", e);
        }
        String because = StartFailures.rootMessage(e);
        log.warn("database {} not ready (try {}): {}; retrying", db.safeUrl(), tries, because != null ? because : e.getMessage());
        try {
          Thread.sleep(1000);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  /** The actor system; a cluster port another process holds is said as such, not as Pekko's remoting failure. */
  private static ActorSystem<Void> createSystem(Config config, NodeSettings node) {
    try {
      return ActorSystem.create(Behaviors.empty(), NodeSettings.SYSTEM_NAME, config);
    } catch (RuntimeException e) {
      for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
        if (c instanceof java.net.BindException) {
          throw new StartFailures.Explained("cannot bind the cluster port " + node.host() + ":" + node.clusterPort()
              + " (PARLEY_CLUSTER_PORT; each node on one host needs its own)", e);
        }
      }
      throw e;
    }
  }

  /** H2's "Database may be already in use" (error 90020): its file is locked by another process. */
  static boolean heldByAnotherProcess(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof SQLException e && e.getErrorCode() == 90020) return true;
    }
    return false;
  }

  private static void ping(HikariDataSource ds) {
    try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
      st.execute("SELECT 1");
    } catch (SQLException e) {
      throw new IllegalStateException("the database does not answer: " + e.getMessage(), e);
    }
  }

  /**
   * Closes the embedded H2 database in the last phase before the actor system stops, when the
   * meetings have stopped writing events; coordinated shutdown waits for it, so the JVM does not
   * exit before H2 has written everything out (its own shutdown hook is off: {@link DbSettings#h2FileUrl}).
   */
  private static void closeH2BeforeTermination(ActorSystem<?> system, DbSettings db) {
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "parley-close-h2",
        () -> CompletableFuture.supplyAsync(() -> {
          // a connection of its own: SHUTDOWN closes every connection, which a pool would then complain of
          try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
              Statement st = c.createStatement()) {
            st.execute("SHUTDOWN");
          } catch (SQLException e) {
            log.warn("closing the H2 database failed: {}", e.toString());
          }
          return Done.getInstance();
        }));
  }

  private void closeResourcesOnTermination(Diarizer diarizer) {
    // the http role unbinds its API in coordinated shutdown itself (service-unbind)
    system.getWhenTerminated().whenComplete((done, error) -> {
      try {
        closeResources(diarizer);
      } finally {
        closed.complete(Done.getInstance());
      }
    });
  }

  private void closeResources(Diarizer diarizer) {
    if (diarizer != null) {
      try {
        if (gpu == null || gpu.awaitJobThreads(Duration.ofSeconds(10))) diarizer.close();
        else log.warn("job threads still running after shutdown; diarizer left open");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (RuntimeException e) {
        log.warn("closing the diarizer failed: {}", e.toString());
      }
    }
    if (dataSource != null) dataSource.close();
  }

  public NodeSettings settings() {
    return settings;
  }

  public DbSettings db() {
    return db;
  }

  public ActorSystem<Void> system() {
    return system;
  }

  /** The gpu role, or {@code null} on an http-only node. */
  public GpuRole gpu() {
    return gpu;
  }

  /** The http role, or {@code null} on a gpu-only node. */
  public HttpRole.Handle http() {
    return http;
  }

  /**
   * Graceful stop: coordinated shutdown (cluster leave, shard hand-off), then termination; completes
   * once the node's database pool and pipeline are closed too (the embedded database file is then
   * unlocked).
   */
  public CompletionStage<Done> stop() {
    system.terminate();
    return closed;
  }
}
