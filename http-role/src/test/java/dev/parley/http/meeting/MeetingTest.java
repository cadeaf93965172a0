package dev.parley.http.meeting;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.parley.protocol.DiarizationOptions;
import dev.parley.protocol.DiarizationResult;
import dev.parley.protocol.Segment;
import dev.parley.protocol.SpeakerSummary;
import dev.parley.protocol.Timing;
import dev.parley.protocol.blob.BlobStore;
import dev.parley.protocol.blob.FileBlobStore;
import dev.parley.protocol.worker.InferenceProtocol.CancelJob;
import dev.parley.protocol.worker.InferenceProtocol.JobAccepted;
import dev.parley.protocol.worker.InferenceProtocol.JobCompleted;
import dev.parley.protocol.worker.InferenceProtocol.JobFailed;
import dev.parley.protocol.worker.InferenceProtocol.JobProgress;
import dev.parley.protocol.worker.InferenceProtocol.RunJob;
import java.io.ByteArrayInputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.SerializationTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Meeting entity alone (in-memory journal, serialization of commands, events and state
 * checked): its events, and the dispatch protocol with a probe standing in for the gpu pool.
 */
class MeetingTest {
  static final Duration RESEND = Duration.ofMillis(150);
  static final Duration HEARTBEAT = Duration.ofMillis(700);
  static final MeetingSettings SETTINGS = new MeetingSettings(RESEND, HEARTBEAT, 3, Duration.ofSeconds(60), 0.1, 10, null, Duration.ZERO);

  static ActorTestKit kit;
  static PersistenceTestKit journal;
  @TempDir static Path blobDir;
  static FileBlobStore blobs;

  @BeforeAll
  static void start() {
    Config app = ConfigFactory.parseResourcesAnySyntax("application").withOnlyPath("pekko.actor.serialization-bindings");
    Config config = ConfigFactory.parseString("pekko.actor.provider = local\npekko.loglevel = WARNING")
        .withFallback(app)
        .withFallback(EventSourcedBehaviorTestKit.config());
    kit = ActorTestKit.create("meeting-test", config);
    journal = PersistenceTestKit.create(kit.system());
    blobs = new FileBlobStore(blobDir);
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  /** One meeting under test with its stand-in worker pool. */
  static final class Fixture {
    final String id = UUID.randomUUID().toString();
    final TestProbe<RunJob> workers = kit.createTestProbe(RunJob.class);
    final TestProbe<CancelJob> cancels = kit.createTestProbe(CancelJob.class);
    /** The nodes the stand-in cluster currently sees as unreachable, leaving or gone. */
    final Set<String> lost = ConcurrentHashMap.newKeySet();
    final EventSourcedBehaviorTestKit<Meeting.Command, Meeting.Event, Meeting.State> es;

    Fixture(MeetingSettings settings) {
      this(settings, blobs);
    }

    Fixture(MeetingSettings settings, BlobStore store) {
      Meeting.WorkerGateway gateway = new Meeting.WorkerGateway() {
        @Override
        public void send(RunJob job) {
          workers.ref().tell(job);
        }

        @Override
        public boolean lost(String node) {
          return lost.contains(node);
        }

        @Override
        public void cancel(CancelJob cancel) {
          cancels.ref().tell(cancel);
        }
      };
      es = EventSourcedBehaviorTestKit.create(kit.system(),
          Meeting.create(id, settings, gateway, store, null),
          EventSourcedBehaviorTestKit.disabledSerializationSettings()
              .withVerifyCommands(true).withVerifyEvents(true).withVerifyState(true));
    }

    Fixture() {
      this(SETTINGS);
    }

    Meeting.Audio audio() throws Exception {
      blobs.put(id, new ByteArrayInputStream(new byte[] {1, 2, 3, 4}));
      return new Meeting.Audio(id, 4, "ab", "audio/wav", "a.wav", 1.5);
    }

    EventSourcedBehaviorTestKit.CommandResultWithReply<Meeting.Command, Meeting.Event, Meeting.State, Meeting.Reply> create()
        throws Exception {
      Meeting.Audio a = audio();
      return es.runCommand(r -> new Meeting.Create("user-1", "Weekly", new DiarizationOptions(2, null, null), a, r));
    }

    /** Creates the meeting and has gpu-a accept its first attempt; returns that attempt's RunJob. */
    RunJob createAndAccept() throws Exception {
      create();
      RunJob run = expectRun(1);
      run.replyTo().tell(new JobAccepted(id, attempt(1), "gpu-a"));
      return run;
    }

    String attempt(int n) {
      return Meeting.attemptId(id, n);
    }

    RunJob expectRun(int attempt) {
      RunJob run = workers.expectMessageClass(RunJob.class, Duration.ofSeconds(3));
      assertEquals(attempt(attempt), run.attemptId(), "attempt id");
      assertEquals(attempt, run.attempt());
      assertEquals(id, run.meetingId());
      assertEquals(id, run.audioKey());
      return run;
    }

    /** Skips repeats of earlier sends and returns the first RunJob of {@code attempt}. */
    RunJob awaitRun(int attempt) {
      long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      while (System.nanoTime() < deadline) {
        RunJob run = workers.expectMessageClass(RunJob.class, Duration.ofSeconds(3));
        if (run.attempt() == attempt) return run;
      }
      throw new AssertionError("no RunJob for attempt " + attempt);
    }

    Meeting.State awaitState(Predicate<Meeting.State> p, String what) {
      return kit.createTestProbe().awaitAssert(Duration.ofSeconds(5), Duration.ofMillis(20), () -> {
        Meeting.State s = es.getState();
        assertTrue(p.test(s), what + " but state is " + s);
        return s;
      });
    }

    List<Object> events() {
      return journal.persistedInStorage("Meeting|" + id);
    }

    long count(Class<?> type) {
      return events().stream().filter(type::isInstance).count();
    }
  }

  static DiarizationResult result(String speaker) {
    return new DiarizationResult(List.of(new Segment(0.0, 1.5, speaker)),
        List.of(new SpeakerSummary(speaker, 1.5, new float[] {0.6f, 0.8f})), Map.of("embedding", "test-1"),
        new Timing(1.5, 0.3, 0.2, "cpu", Map.of("vad", 0.1)), List.of("the recording ends early: 0:01.5 decoded of the 0:03.0 its header declares"));
  }

  @Test
  void eraseDeletedAfterIsADurationOrOff() {
    Config base = ConfigFactory.load().getConfig("parley");
    assertEquals(Duration.ofDays(7), MeetingSettings.fromConfig(base).eraseDeletedAfter(), "the default");
    assertNull(MeetingSettings.fromConfig(ConfigFactory.parseString("meeting.erase-deleted-after = off").withFallback(base))
        .eraseDeletedAfter());
    assertEquals(Duration.ZERO, MeetingSettings.fromConfig(ConfigFactory.parseString("meeting.erase-deleted-after = 0s")
        .withFallback(base)).eraseDeletedAfter());
  }

  @Test
  void aResultJournaledBeforeWarningsAndStageTimesExistedHasNone() throws Exception {
    DiarizationResult old = new ObjectMapper().readValue(
        "{\"segments\":[],\"speakers\":[],\"models\":{},\"timing\":{\"audioSeconds\":1.0,"
            + "\"processingSeconds\":0.1,\"realTimeFactor\":0.1,\"device\":\"cpu\"}}", DiarizationResult.class);
    assertEquals(List.of(), old.warnings());
    assertEquals(Map.of(), old.timing().stageSeconds());
    // review: a result without its lists stopped the meeting that logged it and the read side that listed it
    DiarizationResult bare = new ObjectMapper().readValue("{\"models\":{}}", DiarizationResult.class);
    assertEquals(List.of(), bare.segments());
    assertEquals(List.of(), bare.speakers());
    assertEquals("", bare.toRttm("f"));
  }

  // ---------------------------------------------------------------- commands and events

  @Test
  void createPersistsCreatedAudioStoredQueuedAndSendsTheFirstAttempt() throws Exception {
    Fixture f = new Fixture();
    var r = f.create();
    assertInstanceOf(Meeting.Accepted.class, r.reply());
    assertEquals(3, r.events().size());
    Meeting.Created c = assertInstanceOf(Meeting.Created.class, r.events().get(0));
    assertEquals(f.id, c.meetingId());
    assertEquals("user-1", c.owner());
    assertEquals("Weekly", c.title());
    Meeting.AudioStored a = assertInstanceOf(Meeting.AudioStored.class, r.events().get(1));
    assertEquals(4, a.size());
    assertEquals(1.5, a.durationSeconds());
    Meeting.Queued q = assertInstanceOf(Meeting.Queued.class, r.events().get(2));
    assertEquals(1, q.attempt());
    assertNull(q.reason());
    Meeting.State s = r.state();
    assertEquals(Meeting.Status.QUEUED, s.status());
    assertEquals("queued", s.status().api());
    assertEquals(f.attempt(1), s.attemptId());
    RunJob run = f.expectRun(1);
    assertEquals(Integer.valueOf(2), run.options().numSpeakers());
  }

  @Test
  void createIsValidatedAndHappensOnce() throws Exception {
    Fixture f = new Fixture();
    var empty = f.es.<Meeting.Reply>runCommand(r -> new Meeting.Create("u", "t", null,
        new Meeting.Audio(f.id, 0, "x", "audio/wav", null, null), r));
    assertEquals(new Meeting.Rejected(Meeting.Rejection.INVALID, "audio is empty"), empty.reply());
    assertTrue(empty.hasNoEvents());
    var noOwner = f.es.<Meeting.Reply>runCommand(r -> new Meeting.Create(" ", "t", null,
        new Meeting.Audio(f.id, 5, "x", "audio/wav", null, null), r));
    assertEquals(new Meeting.Rejected(Meeting.Rejection.INVALID, "owner is required"), noOwner.reply());

    // held up past the moment its sender answered the client: refused, so the client's retry is the only meeting
    Meeting.Audio audio = f.audio();
    var late = f.es.<Meeting.Reply>runCommand(r -> new Meeting.Create("user-1", "Weekly", null, audio,
        Instant.now().minusMillis(1), r));
    assertEquals(Meeting.Rejection.EXPIRED, assertInstanceOf(Meeting.Rejected.class, late.reply()).kind());
    assertTrue(late.hasNoEvents());
    assertFalse(f.es.getState().exists());

    assertInstanceOf(Meeting.Accepted.class, f.create().reply());
    var again = f.create();
    assertEquals(Meeting.Rejection.ALREADY_EXISTS, assertInstanceOf(Meeting.Rejected.class, again.reply()).kind());
    assertTrue(again.hasNoEvents());
  }

  @Test
  void repliesCrossNodes() {
    // Create and Delete may be answered on another http node: the replies must serialize
    var serialization = new SerializationTestKit(kit.system());
    serialization.verifySerialization(new Meeting.Rejected(Meeting.Rejection.ALREADY_EXISTS, "meeting m already exists"), true);
    serialization.verifySerialization(new Meeting.Accepted(Meeting.State.empty("m")), true);
  }

  @Test
  void unknownMeetingIsEmptyAndCannotBeDeleted() {
    Fixture f = new Fixture();
    var get = f.es.<Meeting.State>runCommand(Meeting.Get::new);
    assertEquals(Meeting.Status.NEW, get.reply().status());
    assertFalse(get.reply().exists());
    var del = f.es.<Meeting.Reply>runCommand(Meeting.Delete::new);
    assertEquals(new Meeting.Rejected(Meeting.Rejection.NOT_FOUND, "meeting not found"), del.reply());
    assertTrue(del.hasNoEvents());
    f.workers.expectNoMessage(Duration.ofMillis(200));
  }

  // ---------------------------------------------------------------- dispatch

  @Test
  void resendsUntilTheWorkerAcknowledges() throws Exception {
    Fixture f = new Fixture();
    f.create();
    RunJob first = f.expectRun(1);
    f.expectRun(1);
    f.expectRun(1); // re-sent every resend-interval while nobody answers
    first.replyTo().tell(new JobAccepted(f.id, f.attempt(1), "gpu-a"));
    Meeting.State s = f.awaitState(st -> st.status() == Meeting.Status.PROCESSING, "accepted");
    assertEquals("gpu-a", s.node());
    // a message already in flight may still arrive; after that, silence
    drain(f.workers, Duration.ofMillis(RESEND.toMillis() / 2));
    f.workers.expectNoMessage(Duration.ofMillis(RESEND.toMillis() * 3));
    assertEquals(1, f.count(Meeting.Dispatched.class));
    // a repeated ack changes nothing
    first.replyTo().tell(new JobAccepted(f.id, f.attempt(1), "gpu-a"));
    f.workers.expectNoMessage(Duration.ofMillis(RESEND.toMillis() * 2));
    assertEquals(1, f.count(Meeting.Dispatched.class));
  }

  @Test
  void progressKeepsTheAttemptAliveAndIsPersistedSparingly() throws Exception {
    // a heartbeat timeout of 1.5 s, reports every 0.19 s: a test thread held up for a second still passes
    Duration heartbeat = Duration.ofMillis(1500);
    Fixture f = new Fixture(new MeetingSettings(RESEND, heartbeat, 3, Duration.ofSeconds(60), 0.1, 10, null, Duration.ZERO));
    RunJob run = f.createAndAccept();
    f.awaitState(st -> st.status() == Meeting.Status.PROCESSING, "accepted");
    // heartbeats for longer than the heartbeat timeout keep attempt 1 alive
    double[] fractions = {0.01, 0.02, 0.05, 0.08, 0.12, 0.13, 0.14, 0.15, 0.16};
    for (double x : fractions) {
      run.replyTo().tell(new JobProgress(f.id, f.attempt(1), "embedding", x, "gpu-a"));
      Thread.sleep(heartbeat.toMillis() / 8);
    }
    run.replyTo().tell(new JobProgress(f.id, f.attempt(1), "clustering", 0.17, "gpu-a"));
    Meeting.State s = f.awaitState(st -> "clustering".equals(st.stage()), "stage change persisted");
    assertEquals(1, s.attempt(), "no re-dispatch while progress flows");
    assertEquals(0.17, s.progress(), 1e-9);
    List<Double> persisted = f.events().stream().filter(Meeting.Progress.class::isInstance)
        .map(e -> ((Meeting.Progress) e).fraction()).toList();
    // first of a stage, then >= 10 % steps, then the next stage
    assertEquals(List.of(0.01, 0.12, 0.17), persisted);
    drain(f.workers, Duration.ofMillis(50));
  }

  @Test
  void silentAttemptIsRedispatchedAsANewAttempt() throws Exception {
    Fixture f = new Fixture();
    f.create();
    RunJob run = f.expectRun(1);
    run.replyTo().tell(new JobProgress(f.id, f.attempt(1), "decode", 0.0, "gpu-a")); // progress also acknowledges
    f.awaitState(st -> st.status() == Meeting.Status.PROCESSING, "running");
    // gpu-a goes silent: after heartbeat-timeout the meeting queues attempt 2 with a new id
    RunJob second = f.awaitRun(2);
    assertNotEquals(run.attemptId(), second.attemptId());
    Meeting.State s = f.es.getState();
    assertEquals(2, s.attempt());
    assertTrue(s.retryReason().contains("no progress from gpu-a"), s.retryReason());
    List<Object> ev = f.events();
    Meeting.Queued q2 = (Meeting.Queued) ev.stream().filter(e -> e instanceof Meeting.Queued q && q.attempt() == 2)
        .findFirst().orElseThrow();
    assertEquals(f.attempt(2), q2.attemptId());

    // progress of the superseded attempt is ignored
    run.replyTo().tell(new JobProgress(f.id, f.attempt(1), "embedding", 0.9, "gpu-a"));
    second.replyTo().tell(new JobAccepted(f.id, f.attempt(2), "gpu-b"));
    s = f.awaitState(st -> st.status() == Meeting.Status.PROCESSING && "gpu-b".equals(st.node()), "attempt 2 running");
    assertEquals(0.0, s.progress());
  }

  @Test
  void anAttemptWhoseNodeBecomesUnreachableIsRedispatchedWithoutWaitingForTheHeartbeatTimeout() throws Exception {
    // a heartbeat timeout far beyond the test: only the node check can start attempt 2
    Fixture f = new Fixture(new MeetingSettings(RESEND, Duration.ofSeconds(60), 3, Duration.ofSeconds(60), 0.1, 10, null, Duration.ZERO));
    RunJob run = f.createAndAccept();
    f.awaitState(st -> st.status() == Meeting.Status.PROCESSING, "running on gpu-a");
    f.lost.add("gpu-b"); // another node's trouble is not this attempt's
    Thread.sleep(RESEND.toMillis() * 4);
    assertEquals(1, f.es.getState().attempt(), "no re-dispatch while gpu-a is reachable");

    long t0 = System.nanoTime();
    f.lost.add("gpu-a");
    RunJob second = f.awaitRun(2);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(ms < 2000, "re-dispatched " + ms + " ms after gpu-a became unreachable");
    Meeting.State s = f.es.getState();
    assertEquals(2, s.attempt());
    assertTrue(s.retryReason().contains("gpu-a is unreachable"), s.retryReason());

    // the old attempt's node comes back and finishes first: still exactly one completion
    f.lost.remove("gpu-a");
    second.replyTo().tell(new JobAccepted(f.id, f.attempt(2), "gpu-c"));
    run.replyTo().tell(new JobCompleted(f.id, f.attempt(1), result("SPEAKER_A"), "gpu-a"));
    second.replyTo().tell(new JobCompleted(f.id, f.attempt(2), result("SPEAKER_B"), "gpu-c"));
    s = f.awaitState(st -> st.status() == Meeting.Status.DONE, "done");
    Thread.sleep(200);
    assertEquals(1, f.count(Meeting.Completed.class));
    assertEquals(2, f.es.getState().attempt());
  }

  @Test
  void acceptsExactlyOneCompletion() throws Exception {
    Fixture f = new Fixture();
    RunJob run1 = f.createAndAccept();
    RunJob run2 = f.awaitRun(2); // attempt 1 went silent
    // the old attempt finishes after all: a result of an earlier attempt is accepted
    run1.replyTo().tell(new JobCompleted(f.id, f.attempt(1), result("SPEAKER_A"), "gpu-a"));
    Meeting.State s = f.awaitState(st -> st.status() == Meeting.Status.DONE, "done");
    assertEquals("SPEAKER_A", s.result().segments().get(0).speaker());
    assertEquals(result("SPEAKER_A").warnings(), MeetingViews.of(s).warnings(), "the decoder's warnings reach the API");
    assertEquals(Map.of("vad", 0.1), MeetingViews.of(s).processing().stageSeconds());
    // everything after the first completion is ignored
    run2.replyTo().tell(new JobCompleted(f.id, f.attempt(2), result("SPEAKER_B"), "gpu-b"));
    run2.replyTo().tell(new JobFailed(f.id, f.attempt(2), "late", false, "gpu-b"));
    run1.replyTo().tell(new JobCompleted(f.id, f.attempt(1), result("SPEAKER_C"), "gpu-a"));
    Thread.sleep(300);
    s = f.es.getState();
    assertEquals(Meeting.Status.DONE, s.status());
    assertEquals("SPEAKER_A", s.result().segments().get(0).speaker());
    assertEquals(1, f.count(Meeting.Completed.class));
    assertEquals(0, f.count(Meeting.Failed.class));
    // and nothing is sent any more
    drain(f.workers, Duration.ofMillis(50));
    f.workers.expectNoMessage(Duration.ofMillis(HEARTBEAT.toMillis() + 200));
  }

  @Test
  void updatesOfOtherMeetingsAndUnknownAttemptsAreIgnored() throws Exception {
    Fixture f = new Fixture();
    f.create();
    RunJob run = f.expectRun(1);
    run.replyTo().tell(new JobCompleted("other-meeting", "other-meeting-1", result("X"), "gpu-a"));
    run.replyTo().tell(new JobCompleted(f.id, f.attempt(7), result("X"), "gpu-a"));
    run.replyTo().tell(new JobCompleted(f.id, f.id + "-x", result("X"), "gpu-a"));
    Thread.sleep(200);
    assertEquals(Meeting.Status.QUEUED, f.es.getState().status());
    assertEquals(0, f.count(Meeting.Completed.class));
  }

  @Test
  void nonRetryableFailureEndsTheMeeting() throws Exception {
    Fixture f = new Fixture();
    RunJob run = f.createAndAccept();
    run.replyTo().tell(new JobFailed(f.id, f.attempt(1), "not an audio file: no stream", false, "gpu-a"));
    Meeting.State s = f.awaitState(st -> st.status() == Meeting.Status.FAILED, "failed");
    assertEquals("not an audio file: no stream", s.failure().reason());
    assertFalse(s.failure().retryable());
    drain(f.workers, Duration.ofMillis(50));
    f.workers.expectNoMessage(Duration.ofMillis(HEARTBEAT.toMillis() + 300)); // no retry loop
    assertEquals(1, f.count(Meeting.Queued.class));
    run.replyTo().tell(new JobCompleted(f.id, f.attempt(1), result("X"), "gpu-a"));
    Thread.sleep(200);
    assertEquals(Meeting.Status.FAILED, f.es.getState().status());
  }

  @Test
  void retryableFailuresAreRetriedUpToMaxAttempts() throws Exception {
    Fixture f = new Fixture();
    f.create();
    for (int n = 1; n <= 3; n++) {
      RunJob run = f.awaitRun(n);
      run.replyTo().tell(new JobFailed(f.id, f.attempt(n), "worker crashed", true, "gpu-" + n));
    }
    Meeting.State s = f.awaitState(st -> st.status() == Meeting.Status.FAILED, "failed after 3 attempts");
    assertTrue(s.failure().retryable());
    assertTrue(s.failure().reason().contains("worker crashed"), s.failure().reason());
    assertEquals(3, f.count(Meeting.Queued.class));
    assertEquals(1, f.count(Meeting.Failed.class));
    drain(f.workers, Duration.ofMillis(50));
    f.workers.expectNoMessage(Duration.ofMillis(400));
  }

  /**
   * A review: a meeting that gave up because its last attempt's node went silent left that attempt
   * running there, on a GPU, for a result the meeting would throw away.
   */
  @Test
  void givingUpCancelsTheLastAttempt() throws Exception {
    Fixture f = new Fixture(new MeetingSettings(RESEND, Duration.ofMillis(300), 2, Duration.ofSeconds(60), 0.1, 10, null,
        Duration.ZERO));
    f.create();
    for (int n = 1; n <= 2; n++) {
      RunJob run = f.awaitRun(n);
      run.replyTo().tell(new JobAccepted(f.id, f.attempt(n), "gpu-" + n)); // then silence: the heartbeat times out
    }
    Meeting.State s = f.awaitState(st -> st.status() == Meeting.Status.FAILED, "gave up after 2 attempts");
    assertTrue(s.failure().reason().contains("stopped answering"), s.failure().reason());
    // attempt 1 when attempt 2 superseded it, then every attempt when the meeting gave up
    List<CancelJob> cancels = f.cancels.receiveSeveralMessages(3, Duration.ofSeconds(3));
    assertEquals(new CancelJob(f.id, f.attempt(2), "the meeting gave up"), cancels.get(2));
    drain(f.workers, Duration.ofMillis(50));
  }

  /**
   * A review: a gpu node that could not reach the blob store's database failed every job, and the
   * five attempts were used up in 25 s, so a short outage failed every meeting it touched. A worker's
   * failure now waits retry-backoff before the second attempt, three times as long before the third.
   */
  @Test
  void aWorkersFailureIsRetriedAfterABackoffThatGrows() throws Exception {
    Duration backoff = Duration.ofMillis(400);
    Fixture f = new Fixture(new MeetingSettings(RESEND, HEARTBEAT, 4, Duration.ofSeconds(60), 0.1, 10, null, backoff));
    f.create();
    f.awaitRun(1).replyTo().tell(new JobFailed(f.id, f.attempt(1), "could not read the audio", true, "gpu-a"));
    long failed = System.nanoTime();
    RunJob second = f.awaitRun(2);
    long waited = (System.nanoTime() - failed) / 1_000_000;
    assertTrue(waited >= 400, "attempt 2 sent " + waited + " ms after the failure");
    assertEquals(Meeting.Status.QUEUED, f.es.getState().status());
    second.replyTo().tell(new JobFailed(f.id, f.attempt(2), "could not read the audio", true, "gpu-a"));
    failed = System.nanoTime();
    RunJob third = f.awaitRun(3);
    waited = (System.nanoTime() - failed) / 1_000_000;
    assertTrue(waited >= 1200, "attempt 3 sent " + waited + " ms after the failure: three times the backoff");
    // a lost node is the cluster's trouble, not the job's: its attempt is retried at once
    third.replyTo().tell(new JobAccepted(f.id, f.attempt(3), "gpu-b"));
    f.awaitState(st -> st.status() == Meeting.Status.PROCESSING, "running on gpu-b");
    f.lost.add("gpu-b");
    long lost = System.nanoTime();
    f.awaitRun(4);
    waited = (System.nanoTime() - lost) / 1_000_000;
    assertTrue(waited < 9 * backoff.toMillis(), "attempt 4 sent " + waited + " ms after its node was lost");
  }

  /**
   * A gpu node on its way out (shut down, downed) cancels the jobs it holds and reports each as a
   * retryable failure. That says nothing of the job: its meeting sends it again at once instead of
   * waiting out a retry backoff. Here the failure comes before the node's JobAccepted, so the
   * periodic node check (which only watches running attempts) cannot be what re-dispatches.
   */
  @Test
  void aFailureReportedByANodeOnItsWayOutIsRetriedAtOnce() throws Exception {
    Duration backoff = Duration.ofSeconds(5);
    Fixture f = new Fixture(new MeetingSettings(RESEND, HEARTBEAT, 4, Duration.ofSeconds(60), 0.1, 10, null, backoff));
    f.create();
    RunJob first = f.awaitRun(1);
    f.lost.add("gpu-a");
    first.replyTo().tell(new JobFailed(f.id, f.attempt(1), "cancelled: this gpu node is shutting down", true, "gpu-a"));
    long failed = System.nanoTime();
    RunJob second = f.awaitRun(2);
    long waited = (System.nanoTime() - failed) / 1_000_000;
    assertTrue(waited < backoff.toMillis() / 2, "attempt 2 sent " + waited + " ms after its node's failure");
    assertNull(f.es.getState().retryAt());
    // the same failure from a node still in service waits out the backoff
    second.replyTo().tell(new JobFailed(f.id, f.attempt(2), "could not read the audio", true, "gpu-b"));
    Meeting.State waiting = f.awaitState(st -> st.attempt() == 3, "attempt 3 queued");
    assertNotNull(waiting.retryAt(), "a failure on a node in service retries after a backoff");
  }

  @Test
  void supersededAttemptsAreCancelledAndTheirFailuresDecideNothing() throws Exception {
    Fixture f = new Fixture();
    RunJob run1 = f.createAndAccept();
    RunJob run2 = f.awaitRun(2); // attempt 1 went silent: it may still wait or run on gpu-a
    assertEquals(new CancelJob(f.id, f.attempt(1), "superseded by attempt 2"),
        f.cancels.expectMessageClass(CancelJob.class, Duration.ofSeconds(3)));
    // gpu-a answers the cancel with a failure that is not retryable: attempt 2 goes on
    run1.replyTo().tell(new JobFailed(f.id, f.attempt(1), "cancelled: superseded by attempt 2", false, "gpu-a"));
    Thread.sleep(200);
    assertEquals(Meeting.Status.QUEUED, f.es.getState().status());
    assertEquals(0, f.count(Meeting.Failed.class));
    run2.replyTo().tell(new JobCompleted(f.id, f.attempt(2), result("S"), "gpu-b"));
    f.awaitState(st -> st.status() == Meeting.Status.DONE, "done");
  }

  @Test
  void aResultFromAnOlderAttemptCancelsTheNewerOne() throws Exception {
    Fixture f = new Fixture();
    RunJob run1 = f.createAndAccept();
    f.awaitRun(2);
    f.cancels.expectMessageClass(CancelJob.class, Duration.ofSeconds(3)); // attempt 1, superseded
    // that cancel was lost and attempt 1 finished after all: attempt 2 need not run any more
    run1.replyTo().tell(new JobCompleted(f.id, f.attempt(1), result("A"), "gpu-a"));
    f.awaitState(st -> st.status() == Meeting.Status.DONE, "done");
    assertEquals(new CancelJob(f.id, f.attempt(2), "the meeting has its result"),
        f.cancels.expectMessageClass(CancelJob.class, Duration.ofSeconds(3)));
    f.cancels.expectNoMessage(Duration.ofMillis(200));
  }

  @Test
  void staleRetryableFailureDoesNotDisturbTheCurrentAttempt() throws Exception {
    Fixture f = new Fixture();
    RunJob run1 = f.createAndAccept();
    RunJob run2 = f.awaitRun(2);
    run1.replyTo().tell(new JobFailed(f.id, f.attempt(1), "node left", true, "gpu-a"));
    Thread.sleep(200);
    Meeting.State s = f.es.getState();
    assertEquals(2, s.attempt());
    assertEquals(Meeting.Status.QUEUED, s.status());
    run2.replyTo().tell(new JobCompleted(f.id, f.attempt(2), result("S"), "gpu-b"));
    f.awaitState(st -> st.status() == Meeting.Status.DONE, "done");
  }

  // ---------------------------------------------------------------- recovery

  @Test
  void recoveryResumesTheCurrentAttempt() throws Exception {
    Fixture f = new Fixture(new MeetingSettings(RESEND, Duration.ofSeconds(30), 3, Duration.ofSeconds(60), 0.1, 10, null, Duration.ZERO));
    RunJob before = f.createAndAccept();
    f.awaitState(st -> st.status() == Meeting.Status.PROCESSING, "running");
    drain(f.workers, Duration.ofMillis(50));
    f.workers.expectNoMessage(Duration.ofMillis(RESEND.toMillis() * 2));

    // the http node restarts: the recovered meeting re-sends the same attempt with a new reply address
    f.es.restart();
    RunJob again = f.expectRun(1);
    assertNotEquals(before.replyTo(), again.replyTo());
    f.expectRun(1); // until the worker answers
    again.replyTo().tell(new JobProgress(f.id, f.attempt(1), "embedding", 0.5, "gpu-a"));
    f.awaitState(st -> st.progress() == 0.5, "progress after recovery");
    drain(f.workers, Duration.ofMillis(RESEND.toMillis()));
    f.workers.expectNoMessage(Duration.ofMillis(RESEND.toMillis() * 3));
    again.replyTo().tell(new JobCompleted(f.id, f.attempt(1), result("S"), "gpu-a"));
    f.awaitState(st -> st.status() == Meeting.Status.DONE, "done");
    assertEquals(1, f.count(Meeting.Queued.class), "same attempt, no new one");
  }

  @Test
  void recoveredQueuedMeetingSendsAgain() throws Exception {
    Fixture f = new Fixture();
    f.create();
    f.expectRun(1);
    f.es.restart();
    f.awaitRun(1);
    assertEquals(Meeting.Status.QUEUED, f.es.getState().status());
  }

  /** The diff review: a meeting recovered during a retry's backoff (a restart, a rebalance) sent at once, spending attempts faster. */
  @Test
  void aRecoveredMeetingWaitsOutWhatIsLeftOfItsBackoff() throws Exception {
    Duration backoff = Duration.ofMillis(1500);
    Fixture f = new Fixture(new MeetingSettings(RESEND, HEARTBEAT, 3, Duration.ofSeconds(60), 0.1, 10, null, backoff));
    f.create();
    f.awaitRun(1).replyTo().tell(new JobFailed(f.id, f.attempt(1), "could not read the audio", true, "gpu-a"));
    long failed = System.nanoTime();
    Meeting.State waiting = f.awaitState(st -> st.attempt() == 2 && st.retryAt() != null, "attempt 2 waits");
    assertEquals(waiting.retryAt().truncatedTo(ChronoUnit.MILLIS), MeetingViews.of(waiting).retryAt(),
        "GET /meetings/{id} says when the retry goes");
    drain(f.workers, Duration.ofMillis(50));
    f.es.restart();
    RunJob second = f.awaitRun(2);
    long waited = (System.nanoTime() - failed) / 1_000_000;
    assertTrue(waited >= 1400, "attempt 2 sent " + waited + " ms after the failure, across a restart");
    second.replyTo().tell(new JobAccepted(f.id, f.attempt(2), "gpu-b"));
    Meeting.State running = f.awaitState(st -> st.status() == Meeting.Status.PROCESSING && st.retryAt() == null,
        "running, nothing pending");
    assertNull(MeetingViews.of(running).retryAt());
  }

  // ---------------------------------------------------------------- delete

  @Test
  void deleteRemovesTheBlobAndIsFinal() throws Exception {
    Fixture f = new Fixture();
    f.create();
    RunJob run = f.expectRun(1);
    run.replyTo().tell(new JobCompleted(f.id, f.attempt(1), result("S"), "gpu-a"));
    f.awaitState(st -> st.status() == Meeting.Status.DONE, "done");
    assertTrue(blobs.size(f.id) >= 0, "blob stored");

    TestProbe<Meeting.Reply> reply = kit.createTestProbe();
    f.es.runCommand(new Meeting.Delete(reply.ref()));
    assertInstanceOf(Meeting.Accepted.class, reply.receiveMessage(Duration.ofSeconds(3)));
    assertEquals(-1, blobs.size(f.id), "blob removed before the reply");
    Object last = f.events().get(f.events().size() - 1);
    assertEquals(new Meeting.Deleted(f.id), last);
    run.replyTo().tell(new JobCompleted(f.id, f.attempt(1), result("late"), "gpu-a"));
    Thread.sleep(100);
    assertEquals(1, f.count(Meeting.Completed.class));
    assertEquals(1, f.count(Meeting.Deleted.class));
    f.cancels.expectNoMessage(Duration.ofMillis(200)); // nothing ran any more: nothing to cancel
  }

  /** Sharding stops the entity (a hand-off, passivation) while its audio is being removed: the DELETE still gets its answer. */
  @Test
  void aStopDuringTheBlobDeleteWaitsForIt() throws Exception {
    CountDownLatch deleting = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    // the test's blob store, whose delete waits for the test
    BlobStore slow = (BlobStore) Proxy.newProxyInstance(BlobStore.class.getClassLoader(),
        new Class<?>[] {BlobStore.class}, (proxy, method, args) -> {
          if (method.getName().equals("delete")) {
            deleting.countDown();
            release.await(5, TimeUnit.SECONDS);
          }
          try {
            return method.invoke(blobs, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
    Fixture f = new Fixture(SETTINGS, slow);
    f.create();
    RunJob run = f.expectRun(1);
    run.replyTo().tell(new JobCompleted(f.id, f.attempt(1), result("S"), "gpu-a"));
    f.awaitState(st -> st.status() == Meeting.Status.DONE, "done");

    TestProbe<Meeting.Reply> reply = kit.createTestProbe();
    f.es.runCommand(new Meeting.Delete(reply.ref()));
    assertTrue(deleting.await(3, TimeUnit.SECONDS), "the blob delete never started");
    f.es.runCommand(Meeting.Stop.INSTANCE);
    release.countDown();
    assertInstanceOf(Meeting.Accepted.class, reply.receiveMessage(Duration.ofSeconds(3)), "the DELETE's answer");
    assertEquals(-1, blobs.size(f.id));
  }

  @Test
  void deletingAMeetingWhoseJobRunsCancelsTheJob() throws Exception {
    Fixture f = new Fixture();
    f.create();
    RunJob run = f.expectRun(1);
    run.replyTo().tell(new JobProgress(f.id, f.attempt(1), "embedding", 0.4, "gpu-a"));
    f.awaitState(st -> st.status() == Meeting.Status.PROCESSING, "processing");

    TestProbe<Meeting.Reply> reply = kit.createTestProbe();
    f.es.runCommand(new Meeting.Delete(reply.ref()));
    assertInstanceOf(Meeting.Accepted.class, reply.receiveMessage(Duration.ofSeconds(3)));
    CancelJob cancel = f.cancels.expectMessageClass(CancelJob.class, Duration.ofSeconds(3));
    assertEquals(new CancelJob(f.id, f.attempt(1), "the meeting was deleted"), cancel);
    // the worker's answer to the cancel changes nothing, and nothing is sent again
    run.replyTo().tell(new JobFailed(f.id, f.attempt(1), "cancelled: the meeting was deleted", false, "gpu-a"));
    f.workers.expectNoMessage(Duration.ofMillis(300));
    assertEquals(new Meeting.Deleted(f.id), f.events().get(f.events().size() - 1));
    assertEquals(0, f.count(Meeting.Failed.class));
  }

  @Test
  void stateAfterDeletionIsNotAMeeting() {
    Meeting.State s = Meeting.State.empty("x")
        .apply(new Meeting.Created("x", "u", "t", DiarizationOptions.NONE, Instant.now()))
        .apply(new Meeting.AudioStored("x", 3, "h", "audio/wav", null, null))
        .apply(new Meeting.Queued(1, "x-1", null))
        .apply(new Meeting.Deleted("x"));
    assertEquals(Meeting.Status.DELETED, s.status());
    assertFalse(s.exists());
    assertNotNull(s.owner());
  }

  /**
   * Drops what arrives within {@code d}: a re-send already in flight when the state changed. (The
   * probe's {@code receiveSeveralMessages(0, d)} takes nothing: it returns at once.)
   */
  static void drain(TestProbe<?> p, Duration d) {
    long end = System.nanoTime() + d.toNanos();
    for (long left = d.toNanos(); left > 0; left = end - System.nanoTime()) {
      try {
        p.receiveMessage(Duration.ofNanos(left));
      } catch (AssertionError timeout) {
        return;
      }
    }
  }

  /** QA and review: blank-looking titles get the default; an emoji flag's tag characters at the end stay. */
  @org.junit.jupiter.api.Test
  void titlesLoseInvisibleEndsButNotEmojiFlags() {
    assertEquals("Untitled meeting", Meeting.title("\u00a0\u200b\ufeff\u3000"));
    assertEquals("Standup", Meeting.title("\ufeff Standup\u00a0"));
    String scotland = "Team \ud83c\udff4\udb40\udc67\udb40\udc62\udb40\udc73\udb40\udc63\udb40\udc74\udb40\udc7f";
    assertEquals(scotland, Meeting.title(scotland));
  }
}
