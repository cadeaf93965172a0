package dev.parley.gpu.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.parley.gpu.pipeline.Diarizer;
import dev.parley.protocol.DiarizationOptions;
import dev.parley.protocol.DiarizationResult;
import dev.parley.protocol.blob.FileBlobStore;
import dev.parley.protocol.worker.InferenceProtocol.JobAccepted;
import dev.parley.protocol.worker.InferenceProtocol.JobFailed;
import dev.parley.protocol.worker.InferenceProtocol.JobProgress;
import dev.parley.protocol.worker.InferenceProtocol.JobUpdate;
import dev.parley.protocol.worker.InferenceProtocol.RunJob;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A job whose thread hangs (a read on a dead connection, a hung native call: it neither reports
 * progress nor returns when interrupted). The worker's own heartbeat would keep its meeting waiting
 * for ever; the runner abandons it after the stall timeout, and says the node is wedged when the
 * thread still has not returned.
 */
class StalledJobTest {
  @TempDir Path dir;
  ActorTestKit kit;
  ExecutorService executor;
  final CountDownLatch release = new CountDownLatch(1);
  final CountDownLatch entered = new CountDownLatch(1);
  final AtomicInteger wedged = new AtomicInteger();

  /** Hangs until released, swallowing interrupts as a socket read or a native call would. */
  final Diarizer hung = new Diarizer() {
    @Override
    public DiarizationResult diarize(Path audio, DiarizationOptions options, ProgressListener progress) {
      entered.countDown();
      while (true) {
        try {
          if (release.await(60, TimeUnit.SECONDS)) return null;
        } catch (InterruptedException e) {
          // swallowed
        }
      }
    }

    @Override
    public void close() {}
  };

  @BeforeEach
  void start() {
    kit = ActorTestKit.create("stalled", ConfigFactory.parseString("pekko.actor.provider = local"));
    executor = Executors.newCachedThreadPool(); // as GpuRole's: the runner bounds the jobs
  }

  @AfterEach
  void stop() {
    release.countDown();
    executor.shutdownNow();
    kit.shutdownTestKit();
  }

  @Test
  void aJobWithoutProgressIsAbandonedAsRetryableAndAThreadThatNeverReturnsWedgesTheNode() throws Exception {
    FileBlobStore blobs = new FileBlobStore(dir.resolve("blobs"));
    blobs.put("m1", new ByteArrayInputStream(new byte[] {1, 2, 3}));
    GpuSettings settings = new GpuSettings(1, Duration.ofMinutes(5), Duration.ofMillis(200), Duration.ofSeconds(5),
        dir.resolve("scratch"), Duration.ofMinutes(30), Duration.ofSeconds(30), Duration.ofSeconds(1), Duration.ofSeconds(2));
    ActorRef<JobRunner.Command> runner = kit.spawn(JobRunner.create(
        new JobExecution(blobs, hung, dir.resolve("scratch")), executor, 1, null, "gpu-a:1",
        settings.stallTimeout(), settings.resultLinger(), Duration.ofSeconds(2), wedged::incrementAndGet));
    var worker = kit.spawn(InferenceWorker.create("m1-1", runner, settings, "gpu-a:1", null, () -> false));
    TestProbe<JobUpdate> meeting = kit.createTestProbe();
    long t0 = System.nanoTime(); // the job cannot be abandoned earlier than a stall timeout after this
    worker.tell(new RunJob("m1", "m1-1", 1, "m1", DiarizationOptions.NONE, meeting.ref()));
    meeting.expectMessageClass(JobAccepted.class, Duration.ofSeconds(5));
    assertTrue(entered.await(5, TimeUnit.SECONDS), "the job never started");

    // heartbeats while it hangs, then, a stall timeout (1 s) and a check interval later, a retryable failure
    JobFailed failed = null;
    while (failed == null) {
      JobUpdate u = meeting.receiveMessage(Duration.ofSeconds(5));
      if (u instanceof JobFailed f) failed = f;
      else assertEquals(JobProgress.class, u.getClass());
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(ms >= 900 && ms < 10_000, "abandoned after " + ms + " ms");
    assertTrue(failed.retryable(), "the meeting runs it again: " + failed.reason());
    assertTrue(failed.reason().contains("no progress"), failed.reason());
    meeting.expectNoMessage(Duration.ofMillis(600)); // no heartbeat after the outcome

    // the meeting's http node restarted and lost that JobFailed: a new worker for the attempt gets the same answer
    TestProbe<JobRunner.Event> again = kit.createTestProbe();
    runner.tell(new JobRunner.Submit("m1", "m1-1", "m1", DiarizationOptions.NONE, again.ref()));
    JobRunner.Finished same = again.expectMessageClass(JobRunner.Finished.class, Duration.ofSeconds(2));
    assertEquals(failed.reason(), ((JobOutcome.Failed) same.outcome()).reason());

    // the thread ignores the interrupt: two seconds later it is written off, once, and its slot is free
    TestProbe<Object> wait = kit.createTestProbe();
    wait.awaitAssert(Duration.ofSeconds(5), () -> {
      assertEquals(1, wedged.get());
      return null;
    });
    TestProbe<JobRunner.Status> status = kit.createTestProbe();
    wait.awaitAssert(Duration.ofSeconds(5), () -> {
      runner.tell(new JobRunner.GetStatus(status.ref()));
      assertTrue(status.receiveMessage().running().isEmpty(), "the hung thread's slot goes to the next job");
      return null;
    });

    // the next job runs on a new thread while the old one still hangs
    blobs.put("m2", new ByteArrayInputStream(new byte[] {4, 5, 6}));
    TestProbe<JobRunner.Event> next = kit.createTestProbe();
    runner.tell(new JobRunner.Submit("m2", "m2-1", "m2", DiarizationOptions.NONE, next.ref()));
    next.expectMessageClass(JobRunner.Started.class, Duration.ofSeconds(2));

    // when the old thread returns after all, nothing more reaches its meeting
    release.countDown();
    meeting.expectNoMessage(Duration.ofMillis(300));
    assertEquals(1, wedged.get());
  }
}
