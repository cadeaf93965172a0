package dev.parley.node.cluster;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.parley.gpu.pipeline.DiarizationException;
import dev.parley.gpu.pipeline.Diarizer;
import dev.parley.protocol.DiarizationOptions;
import dev.parley.protocol.DiarizationResult;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Down;
import org.junit.jupiter.api.Test;

/**
 * A gpu node downed mid-job shuts down, and a real process exits as soon as its actor system has
 * terminated. A job thread still inside libtorch then runs into libtorch's global destructors: a
 * chaos run saw such a node die of SIGSEGV instead of exiting with its code. The node must cancel
 * the job and wait for its thread to return before the actor system terminates; the job here, like
 * a native call in flight, takes a second to return once interrupted.
 */
class GpuShutdownClusterTest {

  @Test
  void aGpuNodeDownedMidJobWaitsForTheJobThreadBeforeItTerminates() throws Exception {
    try (TestCluster cluster = TestCluster.open("parley_gpu_shutdown")) {
      TestCluster.Node http = cluster.startHttp("", "");
      TestCluster.awaitUp(Duration.ofSeconds(20), http);
      Api api = new Api(http.httpPort()).registerAndLogin("shutdown@example.com", "shutdown-password-1");
      NativeLikeDiarizer job = new NativeLikeDiarizer();
      TestCluster.Node gpu = cluster.startGpu(http.seed(), job, "");
      TestCluster.awaitUp(Duration.ofSeconds(20), http, gpu);
      api.upload(Api.toneWav(2.0, 330), "downed-mid-job");
      assertTrue(job.started.await(15, TimeUnit.SECONDS), "the job never started");

      CompletableFuture<Long> terminatedAt = gpu.node().system().getWhenTerminated().toCompletableFuture()
          .thenApply(done -> System.nanoTime());
      Cluster.get(http.node().system()).manager().tell(new Down(Cluster.get(gpu.node().system()).selfMember().address()));
      long terminated = terminatedAt.get(60, TimeUnit.SECONDS);
      assertTrue(job.returned.await(10, TimeUnit.SECONDS), "the job's thread never returned");
      long early = (job.returnedAt.get() - terminated) / 1_000_000;
      assertTrue(early < 0, "the actor system terminated " + early + " ms before the job's thread returned");
    }
  }

  /** Runs until interrupted, then, like a native call in flight, takes a second more to return. */
  static final class NativeLikeDiarizer implements Diarizer {
    final CountDownLatch started = new CountDownLatch(1);
    final CountDownLatch returned = new CountDownLatch(1);
    final AtomicLong returnedAt = new AtomicLong();

    @Override
    public DiarizationResult diarize(Path audio, DiarizationOptions options, ProgressListener progress)
        throws DiarizationException {
      started.countDown();
      try {
        Thread.sleep(Duration.ofMinutes(5).toMillis());
        throw new DiarizationException("the test's job was never cancelled", false);
      } catch (InterruptedException e) {
        long until = System.nanoTime() + Duration.ofSeconds(1).toNanos();
        while (System.nanoTime() < until) Thread.onSpinWait();
        Thread.currentThread().interrupt();
        throw new DiarizationException("interrupted", true, e);
      } finally {
        returnedAt.set(System.nanoTime());
        returned.countDown();
      }
    }

    @Override
    public void close() {}
  }
}
