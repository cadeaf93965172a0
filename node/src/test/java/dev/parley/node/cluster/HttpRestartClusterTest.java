package dev.parley.node.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An http node on PostgreSQL is stopped and a new one started on the same database: the meetings
 * (state, history and the user's list) come back from the journal, and a meeting that was still
 * queued when the node stopped completes once a gpu node joins the new cluster.
 */
class HttpRestartClusterTest {
  @RegisterExtension static final TestCluster cluster = TestCluster.perClass("parley_restart");

  @Test
  void aRestartedHttpNodeRecoversItsMeetingsFromTheJournal() throws Exception {
    TestCluster.Node http1 = cluster.startHttp("", "");
    TestCluster.Node gpu1 = cluster.startGpu(http1.seed(), new SleepyDiarizer(Duration.ofMillis(300)), "");
    TestCluster.awaitUp(Duration.ofSeconds(20), http1, gpu1);
    Api api1 = new Api(http1.httpPort()).registerAndLogin("restart@example.com", "restart-password-1");
    String done1 = api1.upload(Api.toneWav(2.0, 200), "first");
    String done2 = api1.upload(Api.toneWav(4.0, 250), "second");
    JsonNode before1 = api1.awaitStatus(done1, "done", Duration.ofSeconds(30));
    JsonNode before2 = api1.awaitStatus(done2, "done", Duration.ofSeconds(30));
    JsonNode historyBefore = api1.history(done1);

    // the gpu pool goes away, then a meeting arrives: it stays queued when the http node stops
    gpu1.node().stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    String queued = api1.upload(Api.toneWav(1.0, 500), "queued-over-restart");
    TestCluster.sleep(500);
    assertEquals("queued", api1.meeting(queued).path("status").asText());
    http1.node().stop().toCompletableFuture().get(30, TimeUnit.SECONDS);

    TestCluster.Node http2 = cluster.startHttp("", "");
    TestCluster.awaitUp(Duration.ofSeconds(20), http2);
    Api api2 = new Api(http2.httpPort()).login("restart@example.com", "restart-password-1");

    JsonNode after1 = api2.meeting(done1);
    assertEquals("done", after1.path("status").asText(), after1.toString());
    assertEquals(before1.path("segments"), after1.path("segments"));
    assertEquals(before2.path("segments"), api2.meeting(done2).path("segments"));
    assertEquals(History.types(historyBefore), History.types(api2.history(done1)));

    JsonNode list = api2.get("/meetings").json();
    JsonNode items = list.isArray() ? list : list.path("items");
    List<String> ids = Api.list(items).stream().map(m -> m.path("id").asText()).toList();
    assertEquals(List.of(queued, done2, done1), ids, "the user's list, newest first: " + list);

    // the durable queue: the meeting queued before the restart runs once a gpu node joins
    assertEquals("queued", api2.meeting(queued).path("status").asText());
    TestCluster.Node gpu2 = cluster.startGpu(http2.seed(), new SleepyDiarizer(Duration.ofMillis(300)), "");
    TestCluster.awaitUp(Duration.ofSeconds(20), http2, gpu2);
    JsonNode recovered = api2.awaitStatus(queued, "done", Duration.ofSeconds(30));
    assertTrue(recovered.path("segments").size() > 0, recovered.toString());
    assertEquals(1, History.ofType(api2.history(queued), "completed").size());
  }
}
