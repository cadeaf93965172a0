package dev.parley.node.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Three http nodes, and the one with the lowest address dies (as with kill -9): the resolver
 * (lease-majority on role http) keeps the two survivors, which go on serving and finishing jobs.
 * The lowest address is the one a tie-break would favour, so this is the hardest single crash.
 * (Two http nodes: TwoHttpNodesClusterTest.)
 */
class HttpCrashClusterTest {
  @RegisterExtension static final TestCluster cluster = TestCluster.perClass("parley_httpcrash");

  @Test
  void anyOneOfThreeHttpNodesMayDie() throws Exception {
    // terminate() without coordinated shutdown: no leave, as with kill -9
    String crashLike = "pekko.coordinated-shutdown.run-by-actor-system-terminate = off";
    TestCluster.Node a = cluster.startHttp("", crashLike);
    TestCluster.Node b = cluster.startHttp(a.seed(), crashLike);
    TestCluster.Node c = cluster.startHttp(a.seed(), crashLike);
    TestCluster.Node gpu = cluster.startGpu(a.seed(), new SleepyDiarizer(Duration.ofMillis(300)), "");
    TestCluster.awaitUp(Duration.ofSeconds(30), a, b, c, gpu);
    List<TestCluster.Node> http = List.of(a, b, c).stream()
        .sorted(Comparator.comparingInt(TestCluster.Node::clusterPort)).toList();
    TestCluster.Node doomed = http.get(0);
    Api api = new Api(http.get(1).httpPort()).registerAndLogin("survivor@example.com", "survivor-password-1");

    doomed.node().system().terminate();
    // longer than failure detection + stable-after + downing: a wrong decision has been taken by now
    TestCluster.sleep(12_000);
    assertFalse(http.get(1).terminated() || http.get(2).terminated(), "a surviving http node downed itself");
    assertFalse(gpu.terminated(), "the gpu node was downed");
    String id = api.upload(Api.toneWav(2.0, 300), "after-the-crash");
    JsonNode done = api.awaitStatus(id, "done", Duration.ofSeconds(40));
    assertEquals(2, done.path("segments").size(), done.toString());
  }
}
