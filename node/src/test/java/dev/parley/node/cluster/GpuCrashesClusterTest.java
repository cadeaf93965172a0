package dev.parley.node.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Two gpu nodes die seconds apart, as spot instances reclaimed in a wave do. The second had
 * reported the first unreachable before it died; if the first is still undowned then, Pekko's
 * resolver counts the second "indirectly connected", cannot resolve that and downs every node,
 * http nodes included (this test failed so before GpuReaper). The http nodes' GpuReaper downs an
 * unreachable gpu node after parley.gpu.down-unreachable-after (3 s), long before the resolver's
 * stable-after (8 s here, so the resolver could not have decided the first crash before the
 * second), so the http node stays and both gpu nodes are removed.
 */
class GpuCrashesClusterTest {
  static final String SLOW_DECISIONS = "pekko.cluster.split-brain-resolver.stable-after = 8s\n"
      + "pekko.coordinated-shutdown.run-by-actor-system-terminate = off";
  /** Empty: the default; "parley.gpu.down-unreachable-after = 1h" shows the failure without the reaper. */
  static final String REAPER = System.getProperty("test.reaper", "");
  @RegisterExtension static final TestCluster cluster = TestCluster.perClass("parley_crashes");

  @Test
  void twoGpuNodesCrashingSecondsApartNeverDownTheHttpNode() throws Exception {
    TestCluster.Node http = cluster.startHttp("", SLOW_DECISIONS + "\n" + REAPER);
    TestCluster.Node g1 = cluster.startGpu(http.seed(), new SleepyDiarizer(Duration.ofMillis(200)), SLOW_DECISIONS);
    TestCluster.Node g2 = cluster.startGpu(http.seed(), new SleepyDiarizer(Duration.ofMillis(200)), SLOW_DECISIONS);
    TestCluster.awaitUp(Duration.ofSeconds(30), http, g1, g2);

    g1.node().system().terminate(); // as with kill -9: no leave
    // the second dies once the first is unreachable (so it has reported it), before anything downs the first
    TestCluster.awaitUnreachable(g2, g1, Duration.ofSeconds(20));
    TestCluster.sleep(1_000);
    g2.node().system().terminate();

    TestCluster.awaitRemoved(http, Duration.ofSeconds(40), g1, g2); // fails at once if the http node is downed
    assertFalse(http.terminated(), "the http node was downed");
    Api api = new Api(http.httpPort()).registerAndLogin("crashes@example.com", "crashes-password-1");
    assertEquals(200, api.get("/healthz").status());
  }
}
