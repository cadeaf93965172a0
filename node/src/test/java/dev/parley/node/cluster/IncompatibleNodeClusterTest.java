package dev.parley.node.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.parley.node.ClusterCompatibility;
import dev.parley.protocol.WireProtocol;
import java.time.Duration;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.ConfigValidation;
import org.apache.pekko.cluster.Invalid;
import org.apache.pekko.cluster.Valid$;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A node that would misread the cluster (another wire protocol, another Meeting shard count, as a
 * gpu node from an older image or a mistyped override would) is refused at join and stops, with
 * the reason that makes the process exit 2; the cluster goes on without it.
 */
class IncompatibleNodeClusterTest {
  @RegisterExtension static final TestCluster cluster = TestCluster.perClass("parley_incompatible");
  static TestCluster.Node http;

  @BeforeAll
  static void start() {
    http = cluster.startHttp("", "");
    TestCluster.awaitUp(Duration.ofSeconds(20), http);
  }

  @Test
  void aNodeThatCountsShardsDifferentlyIsRefusedAndStops() {
    TestCluster.Node odd = cluster.startGpu(http.seed(), new SleepyDiarizer(Duration.ofMillis(10)),
        "parley.meeting.number-of-shards = 7");
    odd.awaitTerminated(Duration.ofSeconds(30));
    assertEquals(CoordinatedShutdown.incompatibleConfigurationDetectedReason(),
        CoordinatedShutdown.get(odd.node().system()).getShutdownReason().orElseThrow());
    int members = 0;
    for (var m : Cluster.get(http.node().system()).state().getMembers()) members++;
    assertEquals(1, members, "only the http node");
    assertTrue(http.isUp());

    TestCluster.Node same = cluster.startGpu(http.seed(), new SleepyDiarizer(Duration.ofMillis(10)), "");
    TestCluster.awaitUp(Duration.ofSeconds(20), http, same);
  }

  @Test
  void theWireProtocolMustMatch() {
    ClusterCompatibility check = new ClusterCompatibility();
    String shards = "parley.meeting.number-of-shards = 100\n";
    ConfigValidation other = check.check(
        ConfigFactory.parseString(shards + "parley.wire-protocol = " + (WireProtocol.VERSION + 1)),
        ConfigFactory.parseString(shards + "parley.wire-protocol = " + WireProtocol.VERSION));
    assertInstanceOf(Invalid.class, other);
    assertTrue(((Invalid) other).errorMessages().mkString().contains("parley.wire-protocol"), other.toString());
    assertEquals(Valid$.MODULE$, check.check(
        ConfigFactory.parseString(shards + "parley.wire-protocol = " + WireProtocol.VERSION),
        ConfigFactory.parseString(shards + "parley.wire-protocol = " + WireProtocol.VERSION)));
    // a release before the check sends none of its keys: it spoke protocol 1
    ConfigValidation beforeTheCheck = check.check(ConfigFactory.empty(),
        ConfigFactory.parseString(shards + "parley.wire-protocol = " + WireProtocol.VERSION));
    assertEquals(WireProtocol.VERSION == 1, beforeTheCheck == Valid$.MODULE$, beforeTheCheck.toString());
    assertInstanceOf(Invalid.class, check.check(ConfigFactory.empty(), ConfigFactory.parseString(shards + "parley.wire-protocol = 2")));
  }
}
