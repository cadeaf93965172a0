package dev.parley.gpu.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
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
}
