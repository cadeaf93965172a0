package dev.parley.node.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Exactly two http nodes and a gpu node on PostgreSQL, and one http node dies (as with kill -9).
 * Alone, the survivor cannot tell the crash from a partition, and a one-against-one tie goes to the
 * lowest address, so with keep-majority the survivor of the lowest node's crash downs itself. With
 * lease-majority the side that takes the lease in the database stays: the survivor must keep
 * serving, keep the gpu node and finish a new upload, whichever of the two dies.
 */
class TwoHttpNodesClusterTest {

  @Test
  void theSurvivorStaysWhenTheLowestAddressDies() throws Exception {
    crashOneOfTwo("parley_two_low", true);
  }

  @Test
  void theSurvivorStaysWhenTheHighestAddressDies() throws Exception {
    crashOneOfTwo("parley_two_high", false);
  }

  private static void crashOneOfTwo(String name, boolean lowestDies) throws Exception {
    try (TestCluster cluster = TestCluster.open(name)) {
      // terminate() without coordinated shutdown: no leave, as with kill -9
      String crashLike = "pekko.coordinated-shutdown.run-by-actor-system-terminate = off";
      TestCluster.Node a = cluster.startHttp("", crashLike);
      TestCluster.Node b = cluster.startHttp(a.seed(), crashLike);
      TestCluster.Node gpu = cluster.startGpu(a.seed(), new SleepyDiarizer(Duration.ofMillis(300)), "");
      TestCluster.awaitUp(Duration.ofSeconds(30), a, b, gpu);
      // on one host the address order is the port order
      List<TestCluster.Node> http = List.of(a, b).stream()
          .sorted(Comparator.comparingInt(TestCluster.Node::clusterPort)).toList();
      TestCluster.Node doomed = lowestDies ? http.get(0) : http.get(1);
      TestCluster.Node survivor = lowestDies ? http.get(1) : http.get(0);
      Api api = new Api(survivor.httpPort()).registerAndLogin("two@example.com", "two-password-1");

      long crashAt = System.nanoTime();
      doomed.node().system().terminate();
      TestCluster.awaitRemoved(survivor, Duration.ofSeconds(30), doomed);
      long removedAfterMs = (System.nanoTime() - crashAt) / 1_000_000;
      System.out.println("TwoHttpNodesClusterTest: " + (lowestDies ? "lowest" : "highest")
          + " http node removed by the survivor " + removedAfterMs + " ms after the crash");

      assertTrue(survivor.isUp(), "the surviving http node is not Up");
      assertFalse(gpu.terminated(), "the gpu node was downed");
      assertTrue(TestCluster.isMember(survivor, gpu), "the survivor lost the gpu node");
      String id = api.upload(Api.toneWav(2.0, 300), "after-the-crash");
      JsonNode done = api.awaitStatus(id, "done", Duration.ofSeconds(40));
      assertEquals(2, done.path("segments").size(), done.toString());
    }
  }
}
