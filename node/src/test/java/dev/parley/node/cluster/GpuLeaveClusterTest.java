package dev.parley.node.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A gpu node stopped gracefully mid-job (an operator's SIGTERM): it leaves the cluster, and the
 * meeting re-dispatches as soon as it sees the node leaving, neither waiting for the heartbeat
 * timeout (30 s here, so the difference shows) nor for the node's removal (seconds later).
 */
class GpuLeaveClusterTest {
  @RegisterExtension static final TestCluster cluster = TestCluster.perClass("parley_leave");
  static TestCluster.Node http;
  static Api api;

  @BeforeAll
  static void start() {
    // the node check runs every resend-interval: far below the leave's few seconds
    http = cluster.startHttp("", "parley.meeting.heartbeat-timeout = 30s\nparley.meeting.resend-interval = 250ms");
    TestCluster.awaitUp(Duration.ofSeconds(20), http);
    api = new Api(http.httpPort()).registerAndLogin("leave@example.com", "leave-password-1");
  }

  @Test
  void aGpuNodeThatLeavesMidJobIsNotWaitedFor() throws Exception {
    SleepyDiarizer slow = new SleepyDiarizer(Duration.ofMinutes(5));
    TestCluster.Node leaving = cluster.startGpu(http.seed(), slow, "");
    TestCluster.awaitUp(Duration.ofSeconds(20), http, leaving);
    String id = api.upload(Api.toneWav(2.0, 330), "leave");
    assertTrue(slow.firstStarted.await(15, TimeUnit.SECONDS), "the job never started");
    api.awaitStatus(id, "processing", Duration.ofSeconds(10));
    SleepyDiarizer quick = new SleepyDiarizer(Duration.ofMillis(300));
    TestCluster.Node other = cluster.startGpu(http.seed(), quick, "");
    TestCluster.awaitUp(Duration.ofSeconds(20), http, leaving, other);

    CompletableFuture<Instant> removed = CompletableFuture.supplyAsync(() -> {
      TestCluster.awaitRemoved(http, Duration.ofSeconds(30), leaving);
      return Instant.now();
    });
    leaving.node().stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    long leftAt = System.nanoTime();
    JsonNode done = api.awaitStatus(id, "done", Duration.ofSeconds(25));
    long ms = (System.nanoTime() - leftAt) / 1_000_000;
    assertTrue(ms < 10_000, "re-dispatched " + ms + " ms after the node left (the heartbeat timeout is 30 s)");
    assertEquals(other.node().gpu().node(), History.ofType(api.history(id), "completed").get(0).path("event").path("node").asText());
    assertEquals(1, History.ofType(api.history(id), "completed").size());
    // the second attempt was queued while the node was leaving, before it was removed, and waited
    // out no retry backoff (the node also reports the job it stopped as a retryable failure)
    JsonNode retry = History.ofType(api.history(id), "queued").get(1);
    Instant removedAt = removed.get(30, TimeUnit.SECONDS);
    assertTrue(Instant.parse(retry.path("timestamp").asText()).isBefore(removedAt),
        "attempt 2 queued at " + retry.path("timestamp").asText() + ", the node removed at " + removedAt);
    JsonNode retryAt = retry.path("event").path("retryAt");
    assertTrue(retryAt.isMissingNode() || retryAt.isNull(), "the retry waited: " + retry);
    other.node().stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertEquals(2, done.path("segments").size());
  }
}
