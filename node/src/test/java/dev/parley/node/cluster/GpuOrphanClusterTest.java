package dev.parley.node.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.parley.gpu.GpuRole;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The only http node stops (a deploy restarts it; restarted, it forms a new cluster) while a gpu
 * node runs a job. The gpu node, left in a cluster without an http node, must not idle there for
 * its idle timeout while meetings wait in the new cluster: after orphan-timeout it stops the job,
 * whose result could reach no one, and shuts down with exit code 75 so that its supervisor
 * restarts it into the http node's cluster.
 */
class GpuOrphanClusterTest {
  @RegisterExtension static final TestCluster cluster = TestCluster.perClass("parley_orphan");

  @Test
  void aGpuNodeLeftWithoutAnHttpNodeStopsItsJobAndShutsDown() throws Exception {
    TestCluster.Node http = cluster.startHttp("", "");
    SleepyDiarizer slow = new SleepyDiarizer(Duration.ofMinutes(5));
    TestCluster.Node gpu = cluster.startGpu(http.seed(), slow, "parley.gpu.orphan-timeout = 2s");
    TestCluster.awaitUp(Duration.ofSeconds(20), http, gpu);
    Api api = new Api(http.httpPort()).registerAndLogin("orphan@example.com", "orphan-password-1");
    api.upload(Api.toneWav(2.0, 330), "orphaned");
    assertTrue(slow.firstStarted.await(15, TimeUnit.SECONDS), "the job never started");

    long stoppedAt = System.nanoTime();
    http.node().stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    gpu.awaitTerminated(Duration.ofSeconds(20));
    long ms = (System.nanoTime() - stoppedAt) / 1_000_000;
    System.out.printf("gpu node without an http node shut down %d ms after the http node stopped%n", ms);

    assertEquals(Optional.of(GpuRole.NoHttpNode.INSTANCE),
        CoordinatedShutdown.get(gpu.node().system()).getShutdownReason());
    assertEquals(75, gpu.node().system().settings().config().getInt(
        "pekko.coordinated-shutdown.reason-overrides.\"dev.parley.gpu.GpuRole$NoHttpNode\".exit-code"));
    assertEquals(0, slow.finished.get(), "the job ran on although its result could reach no one");
  }
}
