package dev.parley.node.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A gpu node dies mid-job (its ActorSystem stops without leaving the cluster: no coordinated
 * shutdown, no hand-off). The others see it unreachable, the split brain resolver (lease-majority on
 * role http) takes the lease and downs it, the meeting re-dispatches a new attempt to another gpu node, and the history
 * holds exactly one completion.
 */
class GpuCrashClusterTest {
  @RegisterExtension static final TestCluster cluster = TestCluster.perClass("parley_crash");
  static TestCluster.Node http;
  static Api api;

  @BeforeAll
  static void start() {
    http = cluster.startHttp("", "");
    TestCluster.awaitUp(Duration.ofSeconds(20), http);
    api = new Api(http.httpPort()).registerAndLogin("crash@example.com", "crash-password-1");
  }

  @Test
  void aGpuNodeKilledMidJobLeadsToARedispatchAndOneCompletion() throws Exception {
    SleepyDiarizer stuck = new SleepyDiarizer(Duration.ofMinutes(5));
    // terminate() without coordinated shutdown: no leave, no shard hand-off, as with kill -9
    TestCluster.Node doomed = cluster.startGpu(http.seed(), stuck,
        "pekko.coordinated-shutdown.run-by-actor-system-terminate = off");
    TestCluster.awaitUp(Duration.ofSeconds(20), http, doomed);
    String id = api.upload(Api.toneWav(2.0, 330), "crash");
    assertTrue(stuck.firstStarted.await(15, TimeUnit.SECONDS), "the job never started on the first gpu node");
    api.awaitStatus(id, "processing", Duration.ofSeconds(10));

    SleepyDiarizer healthy = new SleepyDiarizer(Duration.ofMillis(500));
    TestCluster.Node survivor = cluster.startGpu(http.seed(), healthy, "");
    TestCluster.awaitUp(Duration.ofSeconds(20), http, doomed, survivor);

    long crashAt = System.nanoTime();
    doomed.node().system().terminate();
    doomed.awaitTerminated(Duration.ofSeconds(20));

    JsonNode done = api.awaitStatus(id, "done", Duration.ofSeconds(60));
    long recoveredMs = (System.nanoTime() - crashAt) / 1_000_000;
    System.out.println("crashed gpu node: meeting done " + recoveredMs + " ms after the crash");
    assertEquals(2, done.path("segments").size(), done.toString());

    JsonNode history = api.history(id);
    String types = History.types(history);
    List<JsonNode> completions = History.ofType(history, "completed");
    assertEquals(1, completions.size(), "completions in " + types);
    assertEquals(survivor.node().gpu().node(), completions.get(0).path("event").path("node").asText(), types);
    List<JsonNode> dispatched = History.ofType(history, "dispatched");
    assertTrue(dispatched.size() >= 2, "expected a re-dispatch: " + types);
    assertNotEquals(dispatched.get(0).path("event").path("attemptId").asText(),
        dispatched.get(dispatched.size() - 1).path("event").path("attemptId").asText(), types);
    assertEquals(doomed.node().gpu().node(), dispatched.get(0).path("event").path("node").asText(), types);
    assertEquals(1, healthy.finished.get());

    // the crashed node is downed and removed; the http node is unharmed
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (containsMember(doomed.clusterPort())) {
      if (System.nanoTime() > deadline) throw new AssertionError("the crashed gpu node was never removed");
      TestCluster.sleep(200);
    }
    assertTrue(http.isUp());
    // no late second completion from anywhere
    TestCluster.sleep(1500);
    assertEquals(1, History.ofType(api.history(id), "completed").size());
  }

  static boolean containsMember(int port) {
    for (Member m : Cluster.get(http.node().system()).state().getMembers()) {
      if (m.address().port().get().equals(port)) return true;
    }
    return false;
  }
}
