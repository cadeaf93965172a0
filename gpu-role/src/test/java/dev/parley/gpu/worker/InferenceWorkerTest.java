package dev.parley.gpu.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.parley.gpu.GpuRole;
import dev.parley.protocol.DiarizationOptions;
import dev.parley.protocol.blob.FileBlobStore;
import dev.parley.protocol.worker.InferenceProtocol;
import dev.parley.protocol.worker.InferenceProtocol.CancelJob;
import dev.parley.protocol.worker.InferenceProtocol.JobAccepted;
import dev.parley.protocol.worker.InferenceProtocol.JobCompleted;
import dev.parley.protocol.worker.InferenceProtocol.JobFailed;
import dev.parley.protocol.worker.InferenceProtocol.JobProgress;
import dev.parley.protocol.worker.InferenceProtocol.JobUpdate;
import dev.parley.protocol.worker.InferenceProtocol.RunJob;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gpu worker on a one-node gpu cluster, with a TestProbe playing the Meeting. */
class InferenceWorkerTest {
  static ActorTestKit kit;
  static ScriptedDiarizer diarizer;
  static FileBlobStore blobs;
  @TempDir static Path dir;
  static GpuRole role;

  static Config config(String extra) {
    return ConfigFactory.parseString(extra + "\n"
            + "pekko.remote.artery.canonical.port = 0\n"
            + "pekko.remote.artery.canonical.hostname = 127.0.0.1\n"
            + "pekko.cluster.jmx.multi-mbeans-in-same-jvm = on\n"
            + "pekko.coordinated-shutdown.exit-jvm = off\n"
            // the resolver's lease (lease-majority) lives in http-role; one-node clusters decide nothing
            + "pekko.cluster.split-brain-resolver.active-strategy = keep-majority\n")
        .withFallback(ConfigFactory.load())
        .resolve();
  }

  @BeforeAll
  static void start() throws IOException {
    blobs = new FileBlobStore(dir.resolve("blobs"));
    diarizer = new ScriptedDiarizer(true);
    kit = ActorTestKit.create("parley", config("""
        pekko.cluster.roles = [gpu]
        parley.data-dir = "%s"
        parley.gpu.concurrency = 1
        parley.gpu.progress-interval = 200ms
        parley.gpu.result-linger = 5s
        parley.gpu.idle-timeout = 10m
        # this cluster has no http node: after the default 30 s (a slow run of this class) the node
        # would cancel every job and stop, as an orphaned gpu node does (a review saw it)
        parley.gpu.orphan-timeout = 1h
        """.formatted(dir.toString().replace("\\", "/"))));
    Cluster cluster = Cluster.get(kit.system());
    cluster.manager().tell(Join.create(cluster.selfMember().address()));
    TestProbe<Object> wait = kit.createTestProbe();
    wait.awaitAssert(Duration.ofSeconds(10), () -> {
      assertEquals(MemberStatus.up(), cluster.selfMember().status());
      return null;
    });
    role = GpuRole.start(kit.system(), blobs, diarizer);
  }

  @AfterAll
  static void stop() {
    if (kit != null) kit.shutdownTestKit();
  }

  private static void store(String key, String content) throws IOException {
    blobs.put(key, new ByteArrayInputStream(content.getBytes(StandardCharsets.UTF_8)));
  }

  private static void send(String meetingId, String attemptId, String audioKey, TestProbe<JobUpdate> meeting) {
    ClusterSharding.get(kit.system()).entityRefFor(InferenceProtocol.WORKER, attemptId)
        .tell(new RunJob(meetingId, attemptId, 1, audioKey, DiarizationOptions.NONE, meeting.ref()));
  }

  /** Skips progress messages until a message of {@code type} arrives. */
  private static <T extends JobUpdate> T expectSkippingProgress(TestProbe<JobUpdate> p, Class<T> type) {
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    while (System.nanoTime() < deadline) {
      JobUpdate u = p.receiveMessage(Duration.ofSeconds(15));
      if (type.isInstance(u)) return type.cast(u);
      if (!(u instanceof JobProgress)) throw new AssertionError("expected " + type.getSimpleName() + " but got " + u);
    }
    throw new AssertionError("no " + type.getSimpleName() + " within 15 s");
  }

  @Test
  void aWorkerOnALeavingNodeAcceptsNoJob() throws IOException {
    // the node went idle and left, or was told to stop: a job taken now would leave with it
    store("l1.wav", "x".repeat(160));
    TestProbe<JobUpdate> meeting = kit.createTestProbe();
    ActorRef<InferenceProtocol.WorkerCommand> worker =
        kit.spawn(InferenceWorker.create("m-l-1", role.runner(), role.settings(), role.node(), null, () -> true));
    worker.tell(new RunJob("m-l", "m-l-1", 1, "l1.wav", DiarizationOptions.NONE, meeting.ref()));
    worker.tell(new RunJob("m-l", "m-l-1", 1, "l1.wav", DiarizationOptions.NONE, meeting.ref())); // a re-send
    meeting.expectNoMessage(Duration.ofSeconds(1));
    TestProbe<JobRunner.Status> status = kit.createTestProbe();
    role.runner().tell(new JobRunner.GetStatus(status.ref()));
    JobRunner.Status s = status.receiveMessage();
    assertFalse(s.running().contains("m-l-1") || s.waiting().contains("m-l-1"), "submitted: " + s);
    kit.stop(worker);
  }

  @Test
  void aWorkerHandedOffMidJobFinishesItAndSendsTheOutcomeBeforeItStops() throws IOException {
    store("h1.wav", "x".repeat(150));
    TestProbe<JobUpdate> meeting = kit.createTestProbe();
    ActorRef<InferenceProtocol.WorkerCommand> worker =
        kit.spawn(InferenceWorker.create("m-h-1", role.runner(), role.settings(), role.node(), null, () -> false));
    worker.tell(new RunJob("m-h", "m-h-1", 1, "h1.wav", DiarizationOptions.NONE, meeting.ref()));
    meeting.expectMessageClass(JobAccepted.class, Duration.ofSeconds(10));
    expectSkippingProgressOfStage(meeting, "vad");
    // sharding moves the shard (a gpu node joined): the running job goes on, heartbeats included
    worker.tell(InferenceWorker.HandOff.INSTANCE);
    meeting.expectMessageClass(JobProgress.class, Duration.ofSeconds(5));
    diarizer.release("h1.wav");
    expectSkippingProgress(meeting, JobCompleted.class);
    // then it stops at once, without the 5 s result linger
    kit.createTestProbe().expectTerminated(worker, Duration.ofSeconds(3));
  }

  /**
   * A review: a gpu node told to stop mid-job logged "stopping once the job is done" and held its
   * leave for the hand-off's 10 s, although its meeting runs the job again elsewhere.
   */
  @Test
  void aWorkerOnANodeThatIsLeavingStopsItsJobAtHandOff() throws IOException {
    store("g1.wav", "x".repeat(170));
    TestProbe<JobUpdate> meeting = kit.createTestProbe();
    AtomicBoolean leaving = new AtomicBoolean(false);
    ActorRef<InferenceProtocol.WorkerCommand> worker =
        kit.spawn(InferenceWorker.create("m-g-1", role.runner(), role.settings(), role.node(), null, leaving::get));
    worker.tell(new RunJob("m-g", "m-g-1", 1, "g1.wav", DiarizationOptions.NONE, meeting.ref()));
    meeting.expectMessageClass(JobAccepted.class, Duration.ofSeconds(10));
    expectSkippingProgressOfStage(meeting, "vad"); // running, held at its gate: never released by the test
    leaving.set(true); // SIGTERM: coordinated shutdown runs
    worker.tell(InferenceWorker.HandOff.INSTANCE);
    kit.createTestProbe().expectTerminated(worker, Duration.ofSeconds(3));
    TestProbe<JobRunner.Status> status = kit.createTestProbe();
    status.awaitAssert(Duration.ofSeconds(5), () -> {
      role.runner().tell(new JobRunner.GetStatus(status.ref()));
      JobRunner.Status st = status.receiveMessage();
      assertFalse(st.running().contains("m-g-1"), "still running: " + st);
      return null;
    });
  }

  private static void cancel(String meetingId, String attemptId) {
    ClusterSharding.get(kit.system()).entityRefFor(InferenceProtocol.WORKER, attemptId)
        .tell(new CancelJob(meetingId, attemptId, "the meeting was deleted"));
  }

  @Test
  void aCancelledJobStopsAtItsNextWaitAndFreesTheSlot() throws IOException {
    store("k1.wav", "x".repeat(120));
    store("k2.wav", "x".repeat(130));
    store("k3.wav", "x".repeat(140));
    TestProbe<JobUpdate> first = kit.createTestProbe();
    TestProbe<JobUpdate> second = kit.createTestProbe();
    TestProbe<JobUpdate> third = kit.createTestProbe();
    send("m-k1", "m-k1-1", "k1.wav", first);
    first.expectMessageClass(JobAccepted.class, Duration.ofSeconds(10));
    expectSkippingProgressOfStage(first, "vad"); // running, held at its gate
    send("m-k2", "m-k2-1", "k2.wav", second);
    second.expectMessageClass(JobAccepted.class, Duration.ofSeconds(5)); // waiting for the one slot
    send("m-k3", "m-k3-1", "k3.wav", third);
    third.expectMessageClass(JobAccepted.class, Duration.ofSeconds(5));

    // a waiting job is dropped at once
    cancel("m-k2", "m-k2-1");
    JobFailed dropped = expectSkippingProgress(second, JobFailed.class);
    assertTrue(dropped.retryable(), "a meeting that did not cancel it itself runs it again");
    assertEquals("cancelled: the meeting was deleted", dropped.reason());

    // the running one is interrupted, never released by the test, and gives its slot to the next
    int callsBefore = diarizer.calls.get();
    cancel("m-k1", "m-k1-1");
    JobFailed stopped = expectSkippingProgress(first, JobFailed.class);
    assertTrue(stopped.retryable());
    assertEquals("cancelled: the meeting was deleted", stopped.reason());
    expectSkippingProgressOfStage(third, "vad");
    assertEquals(callsBefore + 1, diarizer.calls.get(), "only the third job started: the cancelled waiting one never ran");
    diarizer.release("k3.wav");
    JobCompleted done = expectSkippingProgress(third, JobCompleted.class);
    assertEquals(1.4, done.result().segments().get(0).end(), 1e-9);
    // a cancel for an attempt that has finished changes nothing
    cancel("m-k3", "m-k3-1");
    TestProbe<JobUpdate> again = kit.createTestProbe();
    send("m-k3", "m-k3-1", "k3.wav", again);
    again.expectMessageClass(JobAccepted.class, Duration.ofSeconds(5));
    assertEquals(done, again.expectMessageClass(JobCompleted.class, Duration.ofSeconds(5)));
  }

  @Test
  void completesOnceAndAnswersRepeatsWithTheSameOutcome() throws IOException {
    store("a1.wav", "x".repeat(150));
    TestProbe<JobUpdate> meeting = kit.createTestProbe();
    int callsBefore = diarizer.calls.get();
    send("m-a", "m-a-1", "a1.wav", meeting);
    JobAccepted acc = meeting.expectMessageClass(JobAccepted.class, Duration.ofSeconds(10));
    assertEquals("m-a", acc.meetingId());
    assertEquals(role.node(), acc.node());
    // heartbeats while the job is held at its gate
    JobProgress p1 = expectSkippingProgressOfStage(meeting, "vad");
    assertEquals("m-a-1", p1.attemptId());
    diarizer.release("a1.wav");
    JobCompleted done = expectSkippingProgress(meeting, JobCompleted.class);
    assertEquals(1.5, done.result().segments().get(0).end(), 1e-9);
    assertEquals(2, done.result().speakers().size());

    // a restarted http node repeats the attempt with a new reply address: same outcome, no second run
    TestProbe<JobUpdate> restarted = kit.createTestProbe();
    send("m-a", "m-a-1", "a1.wav", restarted);
    restarted.expectMessageClass(JobAccepted.class, Duration.ofSeconds(5));
    JobCompleted again = restarted.expectMessageClass(JobCompleted.class, Duration.ofSeconds(5));
    assertEquals(done.result().segments(), again.result().segments());
    assertEquals(callsBefore + 1, diarizer.calls.get());
  }

  private static JobProgress expectSkippingProgressOfStage(TestProbe<JobUpdate> p, String stage) {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline) {
      JobUpdate u = p.receiveMessage(Duration.ofSeconds(10));
      if (u instanceof JobProgress jp && jp.stage().equals(stage)) return jp;
      if (!(u instanceof JobProgress)) throw new AssertionError("expected progress but got " + u);
    }
    throw new AssertionError("no progress with stage " + stage);
  }

  @Test
  void oneJobAtATimeAndWaitingJobsKeepHeartbeating() throws IOException {
    store("b1.wav", "x".repeat(100));
    store("b2.wav", "x".repeat(200));
    TestProbe<JobUpdate> first = kit.createTestProbe();
    TestProbe<JobUpdate> second = kit.createTestProbe();
    send("m-b1", "m-b1-1", "b1.wav", first);
    first.expectMessageClass(JobAccepted.class, Duration.ofSeconds(10));
    expectSkippingProgressOfStage(first, "vad");
    send("m-b2", "m-b2-1", "b2.wav", second);
    second.expectMessageClass(JobAccepted.class, Duration.ofSeconds(10));
    // the second job waits on this node and reports "queued" at the progress interval
    long t0 = System.nanoTime();
    for (int i = 0; i < 4; i++) {
      JobProgress p = second.expectMessageClass(JobProgress.class, Duration.ofSeconds(2));
      assertEquals(InferenceProtocol.STAGE_WAITING, p.stage());
    }
    long elapsedMs = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(elapsedMs < 1500, "4 heartbeats at 200 ms took " + elapsedMs + " ms");
    JobRunner.Status status = askStatus();
    assertEquals(List.of("m-b1-1"), status.running());
    assertEquals(List.of("m-b2-1"), status.waiting());

    diarizer.release("b1.wav");
    expectSkippingProgress(first, JobCompleted.class);
    expectSkippingProgressOfStage(second, "vad");
    diarizer.release("b2.wav");
    JobCompleted c2 = expectSkippingProgress(second, JobCompleted.class);
    assertEquals(2.0, c2.result().segments().get(0).end(), 1e-9);
    assertEquals(1, diarizer.maxRunning.get(), "never more than parley.gpu.concurrency jobs at once");
  }

  private static JobRunner.Status askStatus() {
    TestProbe<JobRunner.Status> p = kit.createTestProbe();
    role.runner().tell(new JobRunner.GetStatus(p.ref()));
    return p.receiveMessage(Duration.ofSeconds(3));
  }

  @Test
  void aRepeatWhileRunningMovesUpdatesToTheNewReplyAddress() throws IOException {
    store("c1.wav", "x".repeat(120));
    TestProbe<JobUpdate> oldHttp = kit.createTestProbe();
    TestProbe<JobUpdate> newHttp = kit.createTestProbe();
    send("m-c", "m-c-1", "c1.wav", oldHttp);
    oldHttp.expectMessageClass(JobAccepted.class, Duration.ofSeconds(10));
    expectSkippingProgressOfStage(oldHttp, "vad");
    send("m-c", "m-c-1", "c1.wav", newHttp);
    newHttp.expectMessageClass(JobAccepted.class, Duration.ofSeconds(5));
    newHttp.expectMessageClass(JobProgress.class, Duration.ofSeconds(5));
    diarizer.release("c1.wav");
    expectSkippingProgress(newHttp, JobCompleted.class);
    // the old address got nothing after the switch but the progress already in flight
    while (true) {
      JobUpdate u;
      try {
        u = oldHttp.receiveMessage(Duration.ofMillis(300));
      } catch (AssertionError none) {
        break;
      }
      if (!(u instanceof JobProgress)) throw new AssertionError("old reply address got " + u);
    }
  }

  @Test
  void badInputFailsWithoutRetryAndWorkerErrorsAreRetryable() throws IOException {
    store("d-bad.wav", "bad bytes");
    store("d-crash.wav", "crash");
    TestProbe<JobUpdate> meeting = kit.createTestProbe();

    send("m-d1", "m-d1-1", "d-bad.wav", meeting);
    meeting.expectMessageClass(JobAccepted.class, Duration.ofSeconds(10));
    JobFailed bad = expectSkippingProgress(meeting, JobFailed.class);
    assertFalse(bad.retryable());
    assertTrue(bad.reason().contains("not decodable"), bad.reason());

    send("m-d2", "m-d2-1", "never-stored.wav", meeting);
    meeting.expectMessageClass(JobAccepted.class, Duration.ofSeconds(10));
    JobFailed missing = expectSkippingProgress(meeting, JobFailed.class);
    assertFalse(missing.retryable());
    assertTrue(missing.reason().contains("not found"), missing.reason());

    send("m-d3", "m-d3-1", "d-crash.wav", meeting);
    meeting.expectMessageClass(JobAccepted.class, Duration.ofSeconds(10));
    JobFailed crash = expectSkippingProgress(meeting, JobFailed.class);
    assertTrue(crash.retryable());
    assertTrue(crash.reason().contains("native engine fault"), crash.reason());

    // a recording too long for the node's heap: a reason an operator can act on, and the worker lives on
    store("d-huge.wav", "huge");
    send("m-d4", "m-d4-1", "d-huge.wav", meeting);
    meeting.expectMessageClass(JobAccepted.class, Duration.ofSeconds(10));
    JobFailed huge = expectSkippingProgress(meeting, JobFailed.class);
    assertTrue(huge.retryable());
    assertTrue(huge.reason().contains("ran out of memory") && huge.reason().contains("-Xmx"), huge.reason());
  }

  @Test
  void aGpuOnlyNodeLeavesTheClusterWhenIdle(@TempDir Path d) throws IOException {
    ActorTestKit gpu = ActorTestKit.create("parley", config("""
        pekko.cluster.roles = [gpu]
        parley.data-dir = "%s"
        parley.gpu.idle-timeout = 1s
        """.formatted(d.toString().replace("\\", "/"))));
    try {
      Cluster cluster = Cluster.get(gpu.system());
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
      GpuRole r = GpuRole.start(gpu.system(), new FileBlobStore(d.resolve("blobs")), new ScriptedDiarizer(false));
      assertTrue(r.leavesWhenIdle());
      long t0 = System.nanoTime();
      // leave -> removed -> coordinated shutdown terminates the actor system (exit-jvm is off in tests)
      gpu.system().getWhenTerminated().toCompletableFuture().get(20, TimeUnit.SECONDS);
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(ms >= 900, "left after only " + ms + " ms");
    } catch (Exception e) {
      throw new AssertionError("the idle gpu node did not leave and terminate", e);
    } finally {
      gpu.shutdownTestKit();
    }
  }

  @Test
  void aGpuNodeThatNeverJoinedShutsDownWithAnErrorWhenIdle(@TempDir Path d) throws IOException {
    ActorTestKit gpu = ActorTestKit.create("parley", config("""
        pekko.cluster.roles = [gpu]
        parley.data-dir = "%s"
        parley.gpu.idle-timeout = 1s
        """.formatted(d.toString().replace("\\", "/"))));
    try {
      // no seed node and no join: the node is not a member of any cluster
      GpuRole.start(gpu.system(), new FileBlobStore(d.resolve("blobs")), new ScriptedDiarizer(false));
      gpu.system().getWhenTerminated().toCompletableFuture().get(20, TimeUnit.SECONDS);
      // a failure, not scale-in: Pekko's reason-overrides turn this reason into exit code -1
      assertEquals(Optional.of(CoordinatedShutdown.clusterJoinUnsuccessfulReason()),
          CoordinatedShutdown.get(gpu.system()).getShutdownReason());
      assertEquals(-1, gpu.system().settings().config().getInt("pekko.coordinated-shutdown.reason-overrides."
          + "\"org.apache.pekko.actor.CoordinatedShutdown$ClusterJoinUnsuccessfulReason$\".exit-code"));
    } catch (Exception e) {
      throw new AssertionError("the idle, never joined gpu node did not shut down", e);
    } finally {
      gpu.shutdownTestKit();
    }
  }

  @Test
  void aCombinedNodeNeverLeavesBecauseItsGpuSideIsIdle(@TempDir Path d) throws IOException {
    // the shared test node has only the gpu role; a combined node is checked on role configuration alone
    ActorTestKit both = ActorTestKit.create("parley", config("""
        pekko.cluster.roles = [http, gpu]
        parley.data-dir = "%s"
        parley.gpu.idle-timeout = 300ms
        """.formatted(d.toString().replace("\\", "/"))));
    try {
      Cluster cluster = Cluster.get(both.system());
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
      GpuRole r = GpuRole.start(both.system(), new FileBlobStore(d.resolve("blobs")), new ScriptedDiarizer(false));
      assertFalse(r.leavesWhenIdle());
      TestProbe<Object> p = both.createTestProbe();
      p.awaitAssert(Duration.ofSeconds(10), () -> {
        assertEquals(MemberStatus.up(), cluster.selfMember().status());
        return null;
      });
      Thread.sleep(1500);
      assertEquals(MemberStatus.up(), cluster.selfMember().status());
      assertFalse(both.system().getWhenTerminated().toCompletableFuture().isDone());
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    } finally {
      both.shutdownTestKit();
    }
  }
}
