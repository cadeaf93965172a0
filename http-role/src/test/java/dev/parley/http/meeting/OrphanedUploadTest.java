package dev.parley.http.meeting;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;

/**
 * A create ask that got no answer: the upload is answered with the meeting when it was written
 * after all; otherwise a deferred check removes the upload's blob when the meeting turns out not to
 * exist, and keeps it when it does or when nobody can tell.
 */
class OrphanedUploadTest {
  static final Duration DELAY = Duration.ofMillis(20);

  final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  /** The delays the helper asked for, one per scheduled check. */
  final List<Duration> delays = new CopyOnWriteArrayList<>();
  final BiConsumer<Duration, Runnable> later = (d, r) -> {
    delays.add(d);
    scheduler.schedule(r, d.toMillis(), TimeUnit.MILLISECONDS);
  };
  final AtomicInteger checks = new AtomicInteger();
  final AtomicInteger deletes = new AtomicInteger();

  @AfterEach
  void stop() {
    scheduler.shutdownNow();
  }

  /** An "exists?" check answering from {@code answers} in turn: a Boolean, or a Throwable to fail with. */
  Supplier<CompletionStage<Boolean>> answers(Object... answers) {
    Deque<Object> left = new ArrayDeque<>(List.of(answers));
    return () -> {
      checks.incrementAndGet();
      Object a = left.size() > 1 ? left.poll() : left.peek();
      return a instanceof Throwable t ? CompletableFuture.failedFuture(t) : CompletableFuture.completedFuture((Boolean) a);
    };
  }

  boolean run(Supplier<CompletionStage<Boolean>> exists, Duration delay) throws Exception {
    return MeetingService.removeIfOrphaned("m-1", "m-1", exists, deletes::incrementAndGet, later, delay, 3)
        .toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  static Meeting.State queued() {
    Meeting.State s = Meeting.State.empty("m-1");
    return new Meeting.State(s.meetingId(), "u-1", "t", null, Instant.now(), null, Meeting.Status.QUEUED, 0,
        null, null, null, 0.0, null, null, null, null);
  }

  /** {@link MeetingService#afterUnansweredCreate} with a Get answering {@code answer} (a State or a Throwable). */
  CompletableFuture<Meeting.State> afterTimeout(Object answer, AtomicInteger orphanChecks) {
    return MeetingService.afterUnansweredCreate("m-1", new TimeoutException("ask timed out"),
        () -> answer instanceof Throwable t ? CompletableFuture.failedFuture(t)
            : CompletableFuture.completedFuture((Meeting.State) answer),
        orphanChecks::incrementAndGet).toCompletableFuture();
  }

  @Test
  void aCreateWrittenAfterItsAskTimedOutIsTheUploadsAnswer() throws Exception {
    // the journal took longer than the ask: the meeting exists, and a client told "try again" would make a second one
    AtomicInteger orphanChecks = new AtomicInteger();
    assertEquals(Meeting.Status.QUEUED, afterTimeout(queued(), orphanChecks).get(5, TimeUnit.SECONDS).status());
    assertEquals(0, orphanChecks.get(), "its audio is the meeting's");
  }

  @Test
  void aCreateNeverWrittenFailsTheUploadAndLeavesTheAudioToTheOrphanCheck() {
    for (Object answer : List.of(Meeting.State.empty("m-1"), new TimeoutException("get timed out too"))) {
      AtomicInteger orphanChecks = new AtomicInteger();
      ExecutionException e = Assertions.assertThrows(
          ExecutionException.class, () -> afterTimeout(answer, orphanChecks).get(5, TimeUnit.SECONDS));
      assertEquals("ask timed out", e.getCause().getMessage(), "the create's own failure answers the client (503)");
      assertEquals(1, orphanChecks.get());
    }
  }

  @Test
  void meetingThatExistsKeepsItsBlob() throws Exception {
    assertFalse(run(answers(true), DELAY));
    assertEquals(1, checks.get());
    assertEquals(0, deletes.get());
  }

  @Test
  void meetingThatDoesNotExistLosesItsBlobAfterTheDelay() throws Exception {
    CompletionStage<Boolean> removed = MeetingService.removeIfOrphaned("m-1", "m-1", answers(false),
        deletes::incrementAndGet, later, Duration.ofMillis(300), 3);
    assertEquals(0, checks.get(), "the check waits for the delay");
    assertTrue(removed.toCompletableFuture().get(5, TimeUnit.SECONDS));
    assertEquals(1, checks.get());
    assertEquals(1, deletes.get());
    assertEquals(List.of(Duration.ofMillis(300)), delays);
  }

  @Test
  void failedChecksAreRetriedAfterTheDelay() throws Exception {
    TimeoutException timeout = new TimeoutException("ask timed out");
    assertTrue(run(answers(timeout, timeout, false), DELAY));
    assertEquals(3, checks.get());
    assertEquals(1, deletes.get());
    assertEquals(List.of(DELAY, DELAY, DELAY), delays);
  }

  @Test
  void whenNoCheckSucceedsTheBlobStaysAndNothingEscapes() throws Exception {
    Supplier<CompletionStage<Boolean>> failing = () -> {
      if (checks.incrementAndGet() == 2) throw new IllegalStateException("entity unreachable");
      return CompletableFuture.failedFuture(new TimeoutException("ask timed out"));
    };
    assertFalse(run(failing, DELAY));
    assertEquals(3, checks.get());
    assertEquals(0, deletes.get());
  }

  /**
   * A keyed try whose Create went unanswered while another try made the meeting: the meeting found
   * after the timeout is not this try's, so its Create counts as refused (answered as a replay, its
   * blob removed) and the orphan check removes its blob; the try that made it is accepted.
   */
  @Test
  void aMeetingFoundAfterATimeoutIsThisTrysOnlyWhenItUsesThisTrysBlob() {
    Meeting.State s = Meeting.State.empty("m-1").apply(new Meeting.Created("m-1", "u-1", "t", null, Instant.now()))
        .apply(new Meeting.AudioStored("m-1.aaaa", 3, "sha", "audio/wav", null, null));
    assertTrue(MeetingService.usesBlob(s, "m-1.aaaa"));
    assertFalse(MeetingService.usesBlob(s, "m-1.bbbb"));
    assertFalse(MeetingService.usesBlob(Meeting.State.empty("m-1"), "m-1"));
    assertInstanceOf(Meeting.Accepted.class, MeetingService.createReply(s, "m-1.aaaa"));
    Meeting.Reply other = MeetingService.createReply(s, "m-1.bbbb");
    assertEquals(Meeting.Rejection.ALREADY_EXISTS, assertInstanceOf(Meeting.Rejected.class, other).kind());
  }
}
