package dev.parley.node.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.parley.node.NodeConfig;
import dev.parley.node.ParleyNode;
import dev.parley.protocol.WireProtocol;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embedded default (both roles, H2 and audio under the data dir) and start-up failures. */
class EmbeddedNodeTest {

  @Test
  void theEmbeddedDefaultRunsAJobOnH2AndFiles(@TempDir Path tmp) throws Exception {
    Path dataDir = tmp.resolve("data"); // created by the node
    // nothing but ports and the data dir: roles, database and blob store are the defaults
    ParleyNode node = ParleyNode.start(NodeConfig.load(ConfigFactory.parseString("""
            parley.data-dir = "%s"
            parley.cluster.port = 0
            parley.http.port = 0
            parley.http.bind-host = "127.0.0.1"
            pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
            """.formatted(dataDir.toString().replace("\\", "/")))),
        false, parley -> new SleepyDiarizer(Duration.ofMillis(200)));
    try {
      assertTrue(node.settings().isHttp() && node.settings().isGpu());
      assertFalse(node.db().isPostgres());
      assertFalse(node.gpu().leavesWhenIdle(), "an embedded node must never leave because its gpu side is idle");
      Api api = new Api(node.http().port()).registerAndLogin("solo@example.com", "solo-password-1");
      String id = api.upload(Api.toneWav(2.0, 350), "embedded");
      JsonNode done = api.awaitStatus(id, "done", Duration.ofSeconds(30));
      assertEquals(2, done.path("segments").size(), done.toString());
      JsonNode member = api.get("/cluster").json().path("members").path(0);
      assertEquals(WireProtocol.RELEASE, member.path("version").asText(), member.toString());
      assertTrue(Files.exists(dataDir.resolve("db")), "H2 database under the data dir");
      assertEquals("rwx------", PosixFilePermissions.toString(
          Files.getPosixFilePermissions(dataDir)), "a data dir the node creates is its user's alone");
      try (var blobs = Files.list(dataDir.resolve("blobs"))) {
        assertTrue(blobs.findAny().isPresent(), "the upload is stored under data-dir/blobs");
      }
    } finally {
      node.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    // the node closed H2 itself as it stopped (H2's own JVM-exit hook would close it too early):
    // the database file is no longer locked (within this JVM, a lock still held would throw)
    try (FileChannel ch = FileChannel.open(dataDir.resolve("db").resolve("parley.mv.db"), StandardOpenOption.WRITE);
        FileLock lock = ch.tryLock()) {
      assertNotNull(lock, "the H2 database file is still locked after the node stopped");
    }
  }

  @Test
  void aGpuNodeWhosePipelineCannotLoadFailsToStartWithTheReason(@TempDir Path dataDir) throws Exception {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ParleyNode.start(
        NodeConfig.load(ConfigFactory.parseString("""
            parley.roles = gpu
            parley.data-dir = "%s"
            parley.cluster.port = 0
            pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
            """.formatted(dataDir.toString().replace("\\", "/")))),
        false, parley -> {
          throw new IllegalArgumentException("cannot load /nowhere/model.pt: no such file");
        }));
    assertTrue(e.getMessage().contains("/nowhere/model.pt"), e.getMessage());
  }

  @Test
  void postgresBlobsWithoutPostgresIsAClearConfigurationError(@TempDir Path dataDir) throws Exception {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ParleyNode.start(
        NodeConfig.load(ConfigFactory.parseString("""
            parley.roles = gpu
            parley.data-dir = "%s"
            parley.blob.store = postgres
            """.formatted(dataDir.toString().replace("\\", "/")))),
        false, parley -> new SleepyDiarizer(Duration.ZERO)));
    assertTrue(e.getMessage().contains("PARLEY_DB_URL"), e.getMessage());
  }
}
