package dev.parley.node;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.parley.http.blob.BlobStores;
import dev.parley.http.db.DbSettings;
import dev.parley.http.lease.JdbcLease;
import dev.parley.protocol.WireProtocol;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NodeSettingsTest {

  private static Config load(String overrides) {
    return NodeConfig.load(ConfigFactory.parseString(overrides));
  }

  @Test
  void withNoConfigurationItIsTheEmbeddedDefault() {
    Config c = NodeConfig.load(ConfigFactory.empty());
    NodeSettings s = NodeSettings.fromConfig(c.getConfig("parley"));
    assertEquals(Set.of("http", "gpu"), s.roles());
    assertEquals(8080, s.httpPort());
    assertEquals(25520, s.clusterPort());
    assertEquals(List.of(), s.seedNodes());
    // normalised once, here: every consumer (database, blobs, secret) gets the same absolute path
    assertEquals(Path.of("data").toAbsolutePath(), s.dataDir());
    assertEquals(BlobStores.Kind.FILE, s.blobStore());
    assertEquals(1024 * 1024, s.blobChunkSize());
    assertEquals("0.0.0.0", s.httpBindHost());
    DbSettings db = DbSettings.fromConfig(c.getConfig("parley"));
    assertFalse(db.isPostgres());
    assertTrue(db.url().startsWith("jdbc:h2:file:"), db.url());
    assertTrue(db.url().contains("/data/db/parley"), db.url());
  }

  /** QA: these started, bound nothing, and died with 30-100 lines of stack trace (exit 1, not a configuration error). */
  @Test
  void hostsAndBindAddressesMustBeAddresses() {
    for (String[] bad : new String[][] {{"host", "bad host"}, {"host", "999.1.1.1"}, {"host", "a..b"},
        {"http.bind-host", "999.1.1.1"}, {"cluster.bind-host", "300.0.0.1"}, {"http.bind-host", "no such host.invalid"},
        // the review: an address of another machine, and a blank one (which Java resolves to loopback)
        {"http.bind-host", "192.0.2.7"}, {"http.bind-host", " "}}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> NodeSettings.fromConfig(load("parley." + bad[0] + " = \"" + bad[1] + "\"").getConfig("parley")), bad[1]);
      assertTrue(e.getMessage().contains("'" + bad[1].trim() + "'"), e.getMessage());
    }
    for (String[] good : new String[][] {{"host", "parley-http-0.parley.default.svc.cluster.local"}, {"host", "10.0.0.7"},
        {"host", "::1"}, {"http.bind-host", "0.0.0.0"}, {"cluster.bind-host", "127.0.0.1"}, {"http.bind-host", "::"}}) {
      assertDoesNotThrow(() -> NodeSettings.fromConfig(load("parley." + good[0] + " = \"" + good[1] + "\"").getConfig("parley")),
          good[1]);
    }
  }

  @Test
  void remotingBindsToTheCanonicalHostUnlessToldOtherwise() {
    // Pekko reads an empty bind.hostname as "the canonical host name"
    assertEquals("", load("").getString("pekko.remote.artery.bind.hostname"));
    Config pod = load("parley.host = \"parley-http-0.parley-http-cluster\"\nparley.cluster.bind-host = \"0.0.0.0\"");
    assertEquals("0.0.0.0", pod.getString("pekko.remote.artery.bind.hostname"));
    assertEquals("parley-http-0.parley-http-cluster", pod.getString("pekko.remote.artery.canonical.hostname"));
  }

  @Test
  void rolesAreHttpGpuOrBothAndNothingElse() {
    assertEquals(List.of("http"), List.copyOf(NodeSettings.parseRoles("http")));
    assertEquals(List.of("gpu"), List.copyOf(NodeSettings.parseRoles(" GPU ")));
    assertEquals(List.of("http", "gpu"), List.copyOf(NodeSettings.parseRoles("gpu, http")));
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> NodeSettings.parseRoles("http,cpu"));
    assertTrue(bad.getMessage().contains("PARLEY_ROLES") && bad.getMessage().contains("cpu"), bad.getMessage());
    assertThrows(IllegalArgumentException.class, () -> NodeSettings.parseRoles(" , "));
    assertThrows(IllegalArgumentException.class,
        () -> NodeSettings.fromConfig(load("parley.roles = \"worker\"").getConfig("parley")));
  }

  @Test
  void seedNodesBecomePekkoAddresses() {
    assertEquals(List.of("pekko://parley@10.0.0.1:25520", "pekko://parley@api-1.internal:2552"),
        NodeSettings.parseSeedNodes("10.0.0.1:25520, api-1.internal:2552"));
    assertEquals(List.of("pekko://parley@h:1"), NodeSettings.parseSeedNodes("pekko://parley@h:1"));
    assertEquals(List.of(), NodeSettings.parseSeedNodes(""));
    for (String bad : List.of("nohost", "h:", ":25520", "h:port", "h:70000", "pekko://other@h:1")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NodeSettings.parseSeedNodes(bad));
      assertTrue(e.getMessage().startsWith("PARLEY_SEED_NODES"), e.getMessage());
    }
  }

  @Test
  void blobStoreIsParsedOnceAndKeepsItsOldAlias() {
    assertEquals(BlobStores.Kind.DATABASE, NodeSettings.fromConfig(load("parley.blob.store = postgres").getConfig("parley")).blobStore());
    assertEquals(BlobStores.Kind.DATABASE, NodeSettings.fromConfig(load("parley.blob.store = db").getConfig("parley")).blobStore());
    assertThrows(IllegalArgumentException.class,
        () -> NodeSettings.fromConfig(load("parley.blob.store = s3").getConfig("parley")));
    NodeSettings s = NodeSettings.fromConfig(load(
        "parley { data-dir = \"/srv/parley/../data/.\", http.bind-host = \"127.0.0.1\", blob.chunk-size = 64KiB }")
        .getConfig("parley"));
    assertEquals(Path.of("/srv/data").toAbsolutePath(), s.dataDir());
    assertEquals("127.0.0.1", s.httpBindHost());
    assertEquals(64 * 1024, s.blobChunkSize());
  }

  @Test
  void theUploadThreadsFollowTheUploadLimitHoweverItIsSet() {
    // reference.conf's ${parley.http.max-concurrent-uploads} resolves after the merge, so it sees an
    // override or a -D system property (both lie in front of application.conf), not only the env var
    String size = "parley-http-upload-dispatcher.thread-pool-executor.fixed-pool-size";
    assertEquals(64, load("").getInt(size));
    assertEquals(8, load("parley.http.max-concurrent-uploads = 8").getInt(size));
  }

  @Test
  void everyNodeReadsItsHttpPort() {
    // a gpu-only node serves /healthz on it
    assertEquals(18081, NodeSettings.fromConfig(load("parley { roles = gpu, http.port = 18081 }").getConfig("parley")).httpPort());
    assertThrows(IllegalArgumentException.class, () -> NodeSettings.fromConfig(
        load("parley { roles = gpu, http.port = \"not-a-port\" }").getConfig("parley")));
    assertThrows(IllegalArgumentException.class, () -> NodeSettings.fromConfig(
        load("parley { roles = http, http.port = \"not-a-port\" }").getConfig("parley")));
  }

  @Test
  void theOverlaySetsClusterAndJournalSettings() {
    Config loaded = load("""
        parley { roles = "gpu", cluster.port = 25999, cluster.seed-nodes = "10.1.2.3:25520",
                 db.url = "jdbc:postgresql://db:5432/parley", db.user = parley, db.password = secret }
        """);
    Config parley = loaded.getConfig("parley");
    Config c = NodeConfig.overlay(NodeSettings.fromConfig(parley), DbSettings.fromConfig(parley), true)
        .withFallback(loaded);
    assertEquals(List.of("gpu"), c.getStringList("pekko.cluster.roles"));
    assertEquals(List.of("pekko://parley@10.1.2.3:25520"), c.getStringList("pekko.cluster.seed-nodes"));
    assertEquals(25999, c.getInt("pekko.remote.artery.canonical.port"));
    assertEquals("127.0.0.1", c.getString("pekko.remote.artery.canonical.hostname"));
    assertTrue(c.getBoolean("pekko.coordinated-shutdown.exit-jvm"));
    assertEquals(0, c.getInt("pekko.coordinated-shutdown.exit-code"));
    assertTrue(WireProtocol.RELEASE.matches("\\d+\\.\\d+\\.\\d+.*"), WireProtocol.RELEASE);
    assertEquals(WireProtocol.RELEASE, c.getString("pekko.cluster.app-version"),
        "the release is the cluster's app-version, which sharding prefers during a rolling upgrade");
    String db = "pekko-persistence-jdbc.shared-databases.parley.";
    assertEquals("slick.jdbc.PostgresProfile$", c.getString(db + "profile"));
    assertEquals("jdbc:postgresql://db:5432/parley", c.getString(db + "db.url"));
    assertEquals("parley", c.getString(db + "db.user"));
    assertEquals("secret", c.getString(db + "db.password"));
    assertEquals("org.postgresql.Driver", c.getString(db + "db.driver"));
    // on PostgreSQL the downing policy is lease-majority, weighing only the http role, with the
    // lease in the database
    String sbr = "pekko.cluster.split-brain-resolver.";
    assertEquals("lease-majority", c.getString(sbr + "active-strategy"));
    assertEquals("http", c.getString(sbr + "lease-majority.role"));
    Config lease = c.getConfig(c.getString(sbr + "lease-majority.lease-implementation"));
    assertEquals(JdbcLease.class.getName(), lease.getString("lease-class"));
    // a crashed holder's row lapses before failure detection + stable-after let a survivor ask
    Duration detectAndDecide = c.getDuration("pekko.cluster.failure-detector.acceptable-heartbeat-pause")
        .plus(c.getDuration(sbr + "stable-after"));
    assertTrue(lease.getDuration("heartbeat-timeout").compareTo(detectAndDecide) < 0, lease.toString());
    assertTrue(lease.getDuration("heartbeat-interval").multipliedBy(2).compareTo(lease.getDuration("heartbeat-timeout")) <= 0);
    // the resolver's instability fallback (down everyone) waits longer than a lease decision can take
    // after the first observer: the spread between observers (up to the failure detector's pause) and
    // the minority's delay before it asks for the lease
    Duration decision = c.getDuration("pekko.cluster.failure-detector.acceptable-heartbeat-pause")
        .plus(c.getDuration(sbr + "lease-majority.acquire-lease-delay-for-minority"));
    assertTrue(c.getDuration(sbr + "down-all-when-unstable").compareTo(decision) >= 0,
        c.getString(sbr + "down-all-when-unstable"));
    // on H2 (one process, one http node) keep-majority, also on role http
    Config h2Loaded = load("parley { roles = \"http,gpu\" }");
    Config h2 = NodeConfig.overlay(NodeSettings.fromConfig(h2Loaded.getConfig("parley")),
        DbSettings.fromConfig(h2Loaded.getConfig("parley")), false).withFallback(h2Loaded);
    assertEquals("keep-majority", h2.getString(sbr + "active-strategy"));
    assertEquals("http", h2.getString(sbr + "keep-majority.role"));
    // tests and embedding keep the JVM alive
    Config embedded = NodeConfig.overlay(NodeSettings.fromConfig(parley), DbSettings.fromConfig(parley), false);
    assertFalse(embedded.getBoolean("pekko.coordinated-shutdown.exit-jvm"));
  }
}
