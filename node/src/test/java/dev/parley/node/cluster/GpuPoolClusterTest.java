package dev.parley.node.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.gpu.pipeline.DiarizationException;
import dev.parley.gpu.pipeline.Diarizer;
import dev.parley.protocol.DiarizationOptions;
import dev.parley.protocol.DiarizationResult;
import dev.parley.protocol.Segment;
import dev.parley.protocol.SpeakerSummary;
import dev.parley.protocol.Timing;
import dev.parley.protocol.worker.InferenceProtocol;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery;
import org.apache.pekko.cluster.sharding.typed.GetClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An http node and gpu nodes in one JVM over PostgreSQL: a job completes; an idle gpu node leaves
 * while the http node stays Up; a meeting uploaded with no gpu node waits and starts within 5 s of
 * a gpu node joining. Every test leaves the cluster without gpu nodes.
 */
class GpuPoolClusterTest {
  @RegisterExtension static final TestCluster cluster = TestCluster.perClass("parley_pool");
  static TestCluster.Node http;
  static Api api;

  @BeforeAll
  static void start() {
    http = cluster.startHttp("", "");
    TestCluster.awaitUp(Duration.ofSeconds(20), http);
    api = new Api(http.httpPort()).registerAndLogin("pool@example.com", "pool-password-1");
  }

  @AfterEach
  void noGpuNodeLeft() {
    awaitGpuMembers(0, Duration.ofSeconds(20));
  }

  static long gpuMembers() {
    long n = 0;
    for (Member m : Cluster.get(http.node().system()).state().getMembers()) {
      if (m.hasRole("gpu") && !m.status().equals(MemberStatus.removed())) n++;
    }
    return n;
  }

  static void awaitGpuMembers(long count, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (gpuMembers() != count) {
      if (System.nanoTime() > deadline)
        throw new AssertionError("http node sees " + gpuMembers() + " gpu members, expected " + count);
      TestCluster.sleep(100);
    }
  }

  static void assertOneCompletion(String id, String node) {
    JsonNode history = api.history(id);
    assertEquals(1, History.ofType(history, "completed").size(), "completions in " + History.types(history));
    if (node != null) {
      assertEquals(node, History.ofType(history, "completed").get(0).path("event").path("node").asText(), History.types(history));
    }
  }

  @Test
  void aJobCompletesOnAGpuNode() throws Exception {
    SleepyDiarizer diarizer = new SleepyDiarizer(Duration.ofMillis(800));
    TestCluster.Node gpu = cluster.startGpu(http.seed(), diarizer, "");
    try {
      TestCluster.awaitUp(Duration.ofSeconds(20), http, gpu);
      String id = api.upload(Api.toneWav(3.0, 220), "one-job");
      JsonNode done = api.awaitStatus(id, "done", Duration.ofSeconds(30));
      assertEquals(2, done.path("segments").size(), done.toString());
      assertEquals(1.5, done.path("segments").get(0).path("end").asDouble(), 0.011, done.toString());
      assertEquals(2, done.path("speakers").size(), done.toString());
      assertOneCompletion(id, gpu.node().gpu().node());
      assertEquals(1, diarizer.finished.get());
    } finally {
      gpu.node().stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /** Deleting a meeting whose job runs frees the gpu node at once instead of after the whole job. */
  @Test
  void deletingAMeetingStopsItsRunningJob() throws Exception {
    SleepyDiarizer diarizer = new SleepyDiarizer(Duration.ofSeconds(30));
    TestCluster.Node gpu = cluster.startGpu(http.seed(), diarizer, ""); // one job at a time
    try {
      TestCluster.awaitUp(Duration.ofSeconds(20), http, gpu);
      String first = api.upload(Api.toneWav(1.0, 220), "deleted-while-running");
      api.awaitMeeting(first, Duration.ofSeconds(20), m -> m.path("status").asText().equals("processing")
          && diarizer.started.get() == 1, "processing");
      String second = api.upload(Api.toneWav(1.0, 220), "waits-for-the-slot");
      // accepted by the gpu node but waiting for its slot: still queued, in the meeting and in the list
      JsonNode waiting = api.awaitMeeting(second, Duration.ofSeconds(10),
          m -> m.path("processing").path("node").isTextual(), "accepted by the gpu node");
      assertEquals("queued", waiting.path("status").asText(), waiting.toString());
      List<JsonNode> events = Api.list(api.history(second));
      String lastEvent = events.get(events.size() - 1).path("timestamp").asText();
      JsonNode listed = null;
      long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (System.nanoTime() < until) { // the list is a projection: wait until it has applied that event
        listed = null;
        for (JsonNode m : Api.list(api.get("/meetings").json().path("items"))) if (m.path("id").asText().equals(second)) listed = m;
        if (listed != null && listed.path("updatedAt").asText().equals(lastEvent)) break;
        TestCluster.sleep(100);
      }
      assertTrue(listed != null && listed.path("updatedAt").asText().equals(lastEvent), "list caught up: " + listed);
      assertEquals("queued", listed.path("status").asText(), listed.toString());
      assertEquals(204, api.delete("/meetings/" + first).status());
      // the second job gets the only slot within seconds, not after the first job's 30 s
      long t0 = System.nanoTime();
      api.awaitMeeting(second, Duration.ofSeconds(8), m -> diarizer.started.get() == 2, "second job started");
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertEquals(0, diarizer.finished.get(), "the deleted meeting's job ran to its end");
      assertEquals(204, api.delete("/meetings/" + second).status());
      System.out.printf("deleting a running meeting freed the gpu slot in %d ms%n", ms);
    } finally {
      gpu.node().stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * Scaling out must not cost work in progress: when a gpu node joins while another runs jobs,
   * sharding rebalances the worker shards towards the newcomer, and a handed-off worker whose job
   * is running must neither lose its result nor make the meeting run the job again.
   */
  @Test
  void aGpuNodeJoiningWhileJobsRunTakesNoneOfThem() throws Exception {
    String busy = "parley.gpu.concurrency = 16\nparley.gpu.placement-interval = 500ms";
    SleepyDiarizer d1 = new SleepyDiarizer(Duration.ofSeconds(8));
    TestCluster.Node gpu1 = cluster.startGpu(http.seed(), d1, busy);
    TestCluster.Node gpu2 = null;
    try {
      TestCluster.awaitUp(Duration.ofSeconds(20), http, gpu1);
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < 16; i++) ids.add(api.upload(Api.toneWav(1.0, 220), "busy-" + i));
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (d1.started.get() < 16 && System.nanoTime() < deadline) TestCluster.sleep(100);
      assertEquals(16, d1.started.get(), "all jobs running on the first gpu node");
      SleepyDiarizer d2 = new SleepyDiarizer(Duration.ofMillis(200));
      gpu2 = cluster.startGpu(http.seed(), d2, busy);
      TestCluster.awaitUp(Duration.ofSeconds(20), http, gpu1, gpu2);
      for (String id : ids) {
        api.awaitStatus(id, "done", Duration.ofSeconds(60));
        JsonNode history = api.history(id);
        assertEquals(1, History.ofType(history, "dispatched").size(), "dispatches of " + id + ": " + History.types(history));
        assertOneCompletion(id, gpu1.node().gpu().node());
      }
      assertEquals(16, d1.finished.get());
      assertEquals(0, d2.started.get(), "no job ran twice");
    } finally {
      if (gpu2 != null) gpu2.node().stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      gpu1.node().stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * Scaling out must take part of a queue: a gpu node that joins while another holds jobs waiting
   * for its only slot takes some of them (a chaos review: the newcomer got none of eight, idled and
   * left). A waiting job moves; the running one stays where it is.
   */
  @Test
  void aGpuNodeJoiningTakesJobsWaitingForASlot() throws Exception {
    String conf = "parley.gpu.placement-interval = 500ms";
    SleepyDiarizer d1 = new SleepyDiarizer(Duration.ofSeconds(6));
    TestCluster.Node gpu1 = cluster.startGpu(http.seed(), d1, conf);
    TestCluster.Node gpu2 = null;
    try {
      TestCluster.awaitUp(Duration.ofSeconds(20), http, gpu1);
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < 4; i++) ids.add(api.upload(Api.toneWav(1.0, 220), "queue-" + i));
      for (String id : ids) {
        api.awaitMeeting(id, Duration.ofSeconds(15), m -> m.path("processing").path("node").isTextual(), "accepted");
      }
      assertEquals(1, d1.started.get(), "one slot on the first gpu node");
      SleepyDiarizer d2 = new SleepyDiarizer(Duration.ofSeconds(6));
      gpu2 = cluster.startGpu(http.seed(), d2, conf);
      TestCluster.awaitUp(Duration.ofSeconds(20), http, gpu1, gpu2);
      long t0 = System.nanoTime();
      assertTrue(d2.firstStarted.await(15, TimeUnit.SECONDS), "the new gpu node took none of the waiting jobs");
      System.out.printf("a waiting job started on the new gpu node %d ms after it was Up%n", (System.nanoTime() - t0) / 1_000_000);
      for (String id : ids) {
        api.awaitStatus(id, "done", Duration.ofSeconds(60));
        assertOneCompletion(id, null);
      }
      assertEquals(4, d1.finished.get() + d2.finished.get(), "each job ran to its end once");
      assertEquals(4, d1.started.get() + d2.started.get(), "no job started twice");
    } finally {
      if (gpu2 != null) gpu2.node().stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      gpu1.node().stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * New jobs go where a slot is free: a gpu node that has served many jobs holds many (empty)
   * shards, and Pekko's default placement, which evens out shard counts, sent every new job to the
   * other node, where they queued while this one idled (a chaos review).
   */
  @Test
  void newJobsGoToTheGpuNodeWithAFreeSlot() throws Exception {
    String conf = "parley.gpu.placement-interval = 60s"; // placement alone, no moves
    SleepyDiarizer quick = new SleepyDiarizer(Duration.ofMillis(50));
    SleepyDiarizer slow1 = new SleepyDiarizer(Duration.ofSeconds(5));
    AtomicBoolean warm = new AtomicBoolean();
    Diarizer d1 = new Diarizer() {
      @Override
      public DiarizationResult diarize(Path audio, DiarizationOptions options, ProgressListener progress)
          throws DiarizationException {
        return (warm.get() ? slow1 : quick).diarize(audio, options, progress);
      }

      @Override
      public void close() {}
    };
    TestCluster.Node gpu1 = cluster.startGpu(http.seed(), d1, conf);
    TestCluster.Node gpu2 = null;
    try {
      TestCluster.awaitUp(Duration.ofSeconds(20), http, gpu1);
      List<String> served = new ArrayList<>();
      for (int i = 0; i < 6; i++) served.add(api.upload(Api.toneWav(1.0, 220), "served-" + i));
      for (String id : served) api.awaitStatus(id, "done", Duration.ofSeconds(30));
      SleepyDiarizer slow2 = new SleepyDiarizer(Duration.ofSeconds(5));
      gpu2 = cluster.startGpu(http.seed(), slow2, conf);
      TestCluster.awaitUp(Duration.ofSeconds(20), http, gpu1, gpu2);
      awaitWorkerRegions(gpu1, 2, Duration.ofSeconds(20)); // placement sees the new node once its region has registered
      warm.set(true);
      List<String> ids = List.of(api.upload(Api.toneWav(1.0, 220), "next-a"), api.upload(Api.toneWav(1.0, 220), "next-b"));
      long deadline = System.nanoTime() + Duration.ofSeconds(4).toNanos();
      while ((slow1.started.get() < 1 || slow2.started.get() < 1) && System.nanoTime() < deadline) TestCluster.sleep(100);
      assertEquals(1, slow1.started.get(), "jobs started on the node that had served many");
      assertEquals(1, slow2.started.get(), "jobs started on the new node");
      for (String id : ids) api.awaitStatus(id, "done", Duration.ofSeconds(30));
    } finally {
      if (gpu2 != null) gpu2.node().stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      gpu1.node().stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * A long recording's result crosses the cluster whole: ten hours of meeting give about 9,000
   * turns (the pipeline gives 898 for an hour of ami-dev) and up to 20 speakers with 192-float
   * centroids, far more than Artery's default 256 KiB frame.
   */
  @Test
  void aTenHourMeetingsResultReachesTheMeeting() throws Exception {
    int turns = 9_000;
    List<Segment> segments = new ArrayList<>();
    for (int i = 0; i < turns; i++) {
      segments.add(new Segment(i * 4.0, i * 4.0 + 3.5, String.format("SPEAKER_%02d", i % 20)));
    }
    List<SpeakerSummary> speakers = new ArrayList<>();
    for (int k = 0; k < 20; k++) {
      float[] centroid = new float[192];
      for (int d = 0; d < centroid.length; d++) centroid[d] = (float) Math.sin(k * 1000 + d) / 13.856406f;
      speakers.add(new SpeakerSummary(String.format("SPEAKER_%02d", k), 36_000.0 / 20, centroid));
    }
    DiarizationResult big = new DiarizationResult(segments, speakers, Map.of("embedding", "test-big@1"),
        new Timing(36_000, 60, 60 / 36_000.0, "cpu"));
    Diarizer diarizer = new Diarizer() {
      @Override
      public DiarizationResult diarize(Path audio, DiarizationOptions options, ProgressListener progress) {
        return big;
      }

      @Override
      public void close() {}
    };
    TestCluster.Node gpu = cluster.startGpu(http.seed(), diarizer, "");
    try {
      TestCluster.awaitUp(Duration.ofSeconds(20), http, gpu);
      String id = api.upload(Api.toneWav(2.0, 330), "ten-hours");
      JsonNode done = api.awaitStatus(id, "done", Duration.ofSeconds(30));
      assertEquals(turns, done.path("segments").size());
      assertEquals(20, done.path("speakers").size());
      assertEquals(turns, api.get("/meetings/" + id + "/rttm").body().lines().count());
      assertOneCompletion(id, gpu.node().gpu().node());
    } finally {
      gpu.node().stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void anIdleGpuNodeLeavesAndTheHttpNodeStaysUp() {
    long t0 = System.nanoTime();
    TestCluster.Node gpu = cluster.startGpu(http.seed(), new SleepyDiarizer(Duration.ofMillis(100)),
        "parley.gpu.idle-timeout = 2s");
    TestCluster.awaitUp(Duration.ofSeconds(20), http, gpu);
    // a gpu-only node serves /healthz (only) on its http port while it is a member
    Api.Response health = new Api(gpu.httpPort()).get("/healthz");
    assertEquals(200, health.status());
    assertEquals("{\"status\":\"up\"}", health.body(), "the same healthy body as an http node");
    Api.Response notHere = new Api(gpu.httpPort()).get("/meetings");
    assertEquals(404, notHere.status());
    assertTrue(notHere.body().contains("\"error\":\"not_found\""), "gpu node 404 in the API's error shape: " + notHere.body());
    gpu.awaitTerminated(Duration.ofSeconds(30));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(ms >= 2000, "gpu node left after " + ms + " ms, before its idle timeout");
    awaitGpuMembers(0, Duration.ofSeconds(10));
    assertTrue(http.isUp(), "the http node must stay Up");
    assertFalse(http.terminated());
    assertEquals(200, api.get("/healthz").status());
    assertEquals(200, api.get("/meetings").status());
  }

  /**
   * An idle gpu node asks the http nodes how many meetings wait for a gpu before it leaves, and stays
   * while some do (a chaos review: an idle node left while five meetings queued, because sharding was
   * still recovering from a crash and their jobs could not reach it). The queued meeting here is a
   * read-side row only, one whose job can never reach the node, so the node leaves at twice its idle
   * timeout (IdleWatcherTest: it leaves as soon as none waits).
   */
  @Test
  void anIdleGpuNodeStaysWhileMeetingsWaitForAGpu() throws Exception {
    String stuck = UUID.randomUUID().toString();
    long now = System.currentTimeMillis();
    try (Connection c = DriverManager.getConnection(cluster.pg.url(), TestPostgres.USER, "");
        PreparedStatement ps = c.prepareStatement("INSERT INTO meeting_list (id, owner_id, title, status, created_at,"
            + " updated_at) VALUES (?, ?, 'waits for a gpu', 'queued', ?, ?)")) {
      ps.setString(1, stuck);
      ps.setString(2, UUID.randomUUID().toString());
      ps.setLong(3, now);
      ps.setLong(4, now);
      ps.executeUpdate();
    }
    try {
      long t0 = System.nanoTime();
      TestCluster.Node gpu = cluster.startGpu(http.seed(), new SleepyDiarizer(Duration.ZERO),
          "parley.gpu.idle-timeout = 6s"); // long enough for the node to be Up first on a busy machine
      TestCluster.awaitUp(Duration.ofSeconds(20), http, gpu);
      TestCluster.sleep(8500 - (System.nanoTime() - t0) / 1_000_000);
      assertTrue(gpu.isUp(), "the idle gpu node left while a meeting waited for a gpu");
      gpu.awaitTerminated(Duration.ofSeconds(30)); // at twice its idle timeout: the meeting never reaches it
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(ms >= 11500, "left after " + ms + " ms, before twice its idle timeout");
    } finally {
      try (Connection c = DriverManager.getConnection(cluster.pg.url(), TestPostgres.USER, "");
          PreparedStatement ps = c.prepareStatement("DELETE FROM meeting_list WHERE id = ?")) {
        ps.setString(1, stuck);
        ps.executeUpdate();
      }
    }
  }

  /** A review: a gpu node still trying to reach its seeds said 503 "removed" (its own member's status before any join). */
  @Test
  void aGpuNodeStillTryingToJoinIsHealthy() throws Exception {
    TestCluster.Node gpu = cluster.startGpu("127.0.0.1:" + TestCluster.freePort(), new SleepyDiarizer(Duration.ZERO), "");
    try {
      Api.Response health = null;
      for (long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos(); health == null; ) {
        try {
          health = new Api(gpu.httpPort()).get("/healthz"); // once the endpoint is bound
        } catch (AssertionError notBoundYet) {
          if (System.nanoTime() > deadline) throw notBoundYet;
          TestCluster.sleep(200);
        }
      }
      assertEquals(MemberStatus.removed(), Cluster.get(gpu.node().system()).selfMember().status(), "not joined yet");
      assertEquals(200, health.status(), health.body());
    } finally {
      gpu.node().stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aMeetingWaitsForAGpuNodeAndStartsWithin5sOfItsJoin() throws Exception {
    String id = api.upload(Api.toneWav(2.0, 440), "waits");
    TestCluster.sleep(3000);
    JsonNode waiting = api.meeting(id);
    assertEquals("queued", waiting.path("status").asText(), waiting.toString());
    // the scale signal asks for one gpu node for it (the read side follows the journal within a second or so)
    JsonNode scale = null;
    for (long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos(); System.nanoTime() < deadline; ) {
      scale = api.get("/autoscale").json();
      if (scale.path("desiredGpuNodes").asInt() == 1) break;
      TestCluster.sleep(200);
    }
    assertEquals(1, scale.path("desiredGpuNodes").asInt(), scale.toString());
    assertEquals(1, scale.path("queued").asInt(), scale.toString());
    assertEquals(0, scale.path("gpuNodes").asInt(), scale.toString());

    SleepyDiarizer diarizer = new SleepyDiarizer(Duration.ofMillis(1500));
    TestCluster.Node gpu = cluster.startGpu(http.seed(), diarizer, "");
    try {
      long joined = awaitMemberUpOnHttp(gpu, Duration.ofSeconds(20));
      assertTrue(diarizer.firstStarted.await(10, TimeUnit.SECONDS), "no job started on the new gpu node");
      long startMs = (System.nanoTime() - joined) / 1_000_000;
      System.out.println("queued meeting started " + startMs + " ms after the gpu node was Up");
      assertTrue(startMs <= 5000, "queued meeting started " + startMs + " ms after the gpu node joined");
      api.awaitStatus(id, "done", Duration.ofSeconds(30));
      assertOneCompletion(id, gpu.node().gpu().node());
      for (long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos(); System.nanoTime() < deadline; ) {
        scale = api.get("/autoscale").json();
        if (scale.path("desiredGpuNodes").asInt() == 0) break;
        TestCluster.sleep(200);
      }
      assertEquals(0, scale.path("desiredGpuNodes").asInt(), "no work, no gpu node wanted: " + scale);
    } finally {
      gpu.node().stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /** Waits until the gpu pool's coordinator knows {@code count} worker regions (asked through {@code gpu}'s). */
  static void awaitWorkerRegions(TestCluster.Node gpu, int count, Duration timeout) throws Exception {
    var system = gpu.node().system();
    long deadline = System.nanoTime() + timeout.toNanos();
    int seen = 0;
    while (System.nanoTime() < deadline) {
      var stats = AskPattern.<ClusterShardingQuery,
          ShardRegion.ClusterShardingStats>ask(
              ClusterSharding.get(system).shardState(),
              r -> new GetClusterShardingStats(
                  InferenceProtocol.WORKER, Duration.ofSeconds(2), r),
              Duration.ofSeconds(3), system.scheduler()).toCompletableFuture().get(5, TimeUnit.SECONDS);
      seen = stats.getRegions().size();
      if (seen >= count) return;
      TestCluster.sleep(200);
    }
    throw new AssertionError("the gpu pool knows " + seen + " worker regions, expected " + count);
  }

  /** Waits until the http node sees {@code gpu} Up; returns System.nanoTime() at that moment. */
  static long awaitMemberUpOnHttp(TestCluster.Node gpu, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (Member m : Cluster.get(http.node().system()).state().getMembers()) {
        if (m.address().port().get().equals(gpu.clusterPort()) && m.status().equals(MemberStatus.up()))
          return System.nanoTime();
      }
      TestCluster.sleep(20);
    }
    throw new AssertionError("gpu node not Up on the http node within " + timeout);
  }
}
