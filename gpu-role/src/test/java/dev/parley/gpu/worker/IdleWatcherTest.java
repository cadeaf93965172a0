package dev.parley.gpu.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class IdleWatcherTest {
  static final ActorTestKit kit = ActorTestKit.create();

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void firesOnceAfterTheTimeoutWithoutJobs() throws InterruptedException {
    AtomicInteger fired = new AtomicInteger();
    CountDownLatch latch = new CountDownLatch(1);
    long t0 = System.nanoTime();
    kit.spawn(IdleWatcher.create(Duration.ofMillis(300), () -> {
      fired.incrementAndGet();
      latch.countDown();
    }, "test"));
    assertTrue(latch.await(5, TimeUnit.SECONDS));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(ms >= 280, "fired after " + ms + " ms");
    Thread.sleep(700);
    assertEquals(1, fired.get());
  }

  /**
   * A review: a worker that accepted a job just as the watcher decided to leave (its count still on
   * the way) went with the node. A job admitted since the idle period began holds the leave off; once
   * the gate is closed, no worker is admitted.
   */
  @Test
  void aJobAdmittedAsTheNodeWouldLeaveHoldsTheLeaveOff() throws InterruptedException {
    LeaveGate gate = new LeaveGate();
    CountDownLatch left = new CountDownLatch(1);
    ActorRef<IdleWatcher.Command> w = kit.spawn(IdleWatcher.create(Duration.ofMillis(400), null, left::countDown, "test", gate));
    Thread.sleep(200);
    assertTrue(gate.admit(), "a worker takes a job; its count has not reached the watcher");
    assertTrue(!left.await(500, TimeUnit.MILLISECONDS), "left with a job just admitted");
    w.tell(new IdleWatcher.JobCount(1)); // the count arrives
    w.tell(new IdleWatcher.JobCount(0)); // and the job ends
    assertTrue(left.await(5, TimeUnit.SECONDS), "leaves a full idle timeout after the job");
    assertTrue(!gate.admit(), "no job is admitted once the node leaves");
  }

  @Test
  void aClosedGateOpensAgainForAJobAdmittedMeanwhile() {
    LeaveGate gate = new LeaveGate();
    long mark = gate.admitted();
    gate.admit();
    assertTrue(!gate.close(mark), "a job came since the mark");
    assertTrue(gate.admit(), "the gate is open again");
    assertTrue(gate.close(gate.admitted()));
    assertTrue(!gate.admit());
  }

  @Test
  void jobsHoldItOffAndTheCountdownRestartsWhenTheLastJobEnds() throws InterruptedException {
    CountDownLatch latch = new CountDownLatch(1);
    ActorRef<IdleWatcher.Command> w = kit.spawn(IdleWatcher.create(Duration.ofMillis(400), latch::countDown, "test"));
    w.tell(new IdleWatcher.JobCount(1));
    assertTrue(!latch.await(900, TimeUnit.MILLISECONDS), "left while a job was running");
    w.tell(new IdleWatcher.JobCount(2));
    w.tell(new IdleWatcher.JobCount(0));
    long t0 = System.nanoTime();
    assertTrue(latch.await(5, TimeUnit.SECONDS));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(ms >= 350, "fired " + ms + " ms after the last job instead of the full timeout");
  }

  @Test
  void staysWhileMeetingsWaitForAGpuAndLeavesOnceNoneDo() throws InterruptedException {
    AtomicInteger asked = new AtomicInteger();
    IdleWatcher.Queue queue = () -> CompletableFuture.completedFuture(asked.incrementAndGet() < 3 ? 2L : 0L);
    CountDownLatch latch = new CountDownLatch(1);
    long t0 = System.nanoTime();
    // asks at the idle timeout (2 s), then every quarter of it: 2, 2, then 0 at about 3 s, 1 s before the cap
    kit.spawn(IdleWatcher.create(Duration.ofSeconds(2), queue, latch::countDown, "test"));
    assertTrue(latch.await(10, TimeUnit.SECONDS));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(3, asked.get(), "asked until the queue was empty");
    assertTrue(ms >= 2900, "left after " + ms + " ms, while meetings were queued");
  }

  @Test
  void leavesAfterTwiceTheIdleTimeoutWhenMeetingsNeverReachIt() throws InterruptedException {
    AtomicInteger asked = new AtomicInteger();
    IdleWatcher.Queue queue = () -> {
      asked.incrementAndGet();
      return CompletableFuture.completedFuture(5L);
    };
    CountDownLatch latch = new CountDownLatch(1);
    long t0 = System.nanoTime();
    kit.spawn(IdleWatcher.create(Duration.ofMillis(400), queue, latch::countDown, "test"));
    assertTrue(latch.await(5, TimeUnit.SECONDS));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(ms >= 780, "left after " + ms + " ms, before twice the idle timeout");
    assertTrue(asked.get() >= 2, "asked " + asked.get() + " time(s)");
  }

  @Test
  void leavesWhenNobodyCanSayWhatIsQueued() throws InterruptedException {
    AtomicInteger asked = new AtomicInteger();
    IdleWatcher.Queue queue = () -> {
      asked.incrementAndGet();
      return CompletableFuture.failedFuture(new TimeoutException("no http node answered"));
    };
    CountDownLatch latch = new CountDownLatch(1);
    kit.spawn(IdleWatcher.create(Duration.ofMillis(300), queue, latch::countDown, "test"));
    assertTrue(latch.await(5, TimeUnit.SECONDS));
    Thread.sleep(300);
    assertEquals(1, asked.get(), "left at the first failed question, without waiting for the queue");
  }

  @Test
  void leavesWhenAskingThrows() throws InterruptedException {
    CountDownLatch latch = new CountDownLatch(1);
    kit.spawn(IdleWatcher.create(Duration.ofMillis(300), () -> {
      throw new IllegalStateException("a bug in asking");
    }, latch::countDown, "test"));
    assertTrue(latch.await(5, TimeUnit.SECONDS), "the watcher stopped instead of leaving");
  }

  @Test
  void anAnswerAboutAnEarlierIdleSpellIsIgnored() throws InterruptedException {
    CompletableFuture<Long> late = new CompletableFuture<>();
    AtomicInteger asked = new AtomicInteger();
    IdleWatcher.Queue queue = () -> asked.incrementAndGet() == 1 ? late : CompletableFuture.completedFuture(0L);
    CountDownLatch latch = new CountDownLatch(1);
    ActorRef<IdleWatcher.Command> w = kit.spawn(IdleWatcher.create(Duration.ofMillis(400), queue, latch::countDown, "test"));
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (asked.get() == 0 && System.nanoTime() < deadline) Thread.sleep(10);
    assertEquals(1, asked.get());
    w.tell(new IdleWatcher.JobCount(1)); // a job came and went while the question was out
    w.tell(new IdleWatcher.JobCount(0));
    long t0 = System.nanoTime();
    late.complete(0L);
    assertTrue(latch.await(5, TimeUnit.SECONDS));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(ms >= 350, "left " + ms + " ms after the job instead of a full idle timeout");
    assertEquals(2, asked.get(), "asked again at the end of the new idle spell");
  }
}
