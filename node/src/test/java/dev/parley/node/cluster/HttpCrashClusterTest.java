package dev.parley.node.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two http nodes, and the one with the lowest address dies (as with kill -9). With keep-majority on
 * role http that was a one-against-one tie, which the lowest address wins: the survivor downed
 * itself, and the gpu node with it. With keep-oldest and down-if-alone (config/application.conf)
 * the dead node is downed whether it is the oldest (alone on its side) or not, and the survivor
 * goes on serving and finishing jobs.
 */
class HttpCrashClusterTest {
  static TestCluster cluster;

  @BeforeAll
  static void start() {
    cluster = new TestCluster("parley_httpcrash");
  }

  @AfterAll
  static void stop() {
    if (cluster != null) cluster.close();
  }

  @Test
  void theSecondHttpNodeOutlivesTheFirst() throws Exception {
    // terminate() without coordinated shutdown: no leave, as with kill -9
    String crashLike = "pekko.coordinated-shutdown.run-by-actor-system-terminate = off";
    TestCluster.Node a = cluster.startHttp("", crashLike);
    TestCluster.Node b = cluster.startHttp(a.seed(), crashLike);
    TestCluster.Node gpu = cluster.startGpu(a.seed(), new SleepyDiarizer(Duration.ofMillis(300)), "");
    TestCluster.awaitUp(Duration.ofSeconds(20), a, b, gpu);
    // the one with the lowest address dies: the side a tie-break by address would keep
    TestCluster.Node doomed = a.clusterPort() < b.clusterPort() ? a : b;
    TestCluster.Node second = doomed == a ? b : a;
    Api api = new Api(second.httpPort()).registerAndLogin("survivor@example.com", "survivor-password-1");

    doomed.node().system().terminate();
    // longer than failure detection + stable-after + downing: a wrong decision has been taken by now
    TestCluster.sleep(12_000);
    assertFalse(second.terminated(), "the surviving http node downed itself");
    assertFalse(gpu.terminated(), "the gpu node was downed with it");
    String id = api.upload(Api.toneWav(2.0, 300), "after-the-crash");
    JsonNode done = api.awaitStatus(id, "done", Duration.ofSeconds(40));
    assertEquals(2, done.path("segments").size(), done.toString());
  }
}
