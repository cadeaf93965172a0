package dev.parley.gpu.worker;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The gpu role's parameters, read once from the {@code parley} config section.
 *
 * @param concurrency jobs this node runs at once ({@code parley.gpu.concurrency}); more wait on the node
 * @param idleTimeout a gpu-only node with no job (running or waiting) for this long leaves the cluster
 * @param progressInterval a worker reports progress at least this often (it is the Meeting's heartbeat)
 * @param resultLinger how long a finished worker keeps its outcome to answer a repeated RunJob
 * @param scratchDir where audio from a remote blob store is copied for a job (deleted afterwards)
 * @param handOffTimeout how long sharding waits for a running job to finish before it moves the
 *     job's shard to another node (rebalancing when a gpu node joins, or a graceful leave)
 * @param orphanTimeout a gpu-only node that has been in a cluster without a reachable http node
 *     for this long stops its jobs and shuts down with exit code 75, to be restarted into the
 *     http nodes' cluster
 * @param stallTimeout a running job that reports no progress for this long is abandoned and its
 *     meeting retried; its thread, if it does not return, is written off a minute later and a
 *     gpu-only node shuts down (exit 70)
 * @param placementInterval how often {@link GpuPlacement} moves jobs waiting for a slot to gpu nodes
 *     with a free one
 */
public record GpuSettings(
    int concurrency, Duration idleTimeout, Duration progressInterval, Duration resultLinger, Path scratchDir,
    Duration handOffTimeout, Duration orphanTimeout, Duration stallTimeout, Duration placementInterval) {

  public GpuSettings {
    if (concurrency < 1) throw new IllegalArgumentException("parley.gpu.concurrency must be >= 1, got " + concurrency);
    if (idleTimeout.isNegative() || idleTimeout.isZero())
      throw new IllegalArgumentException("parley.gpu.idle-timeout must be positive, got " + idleTimeout);
    if (progressInterval.isNegative() || progressInterval.isZero())
      throw new IllegalArgumentException("parley.gpu.progress-interval must be positive, got " + progressInterval);
    if (resultLinger.isNegative())
      throw new IllegalArgumentException("parley.gpu.result-linger must not be negative, got " + resultLinger);
    if (handOffTimeout.isNegative() || handOffTimeout.isZero())
      throw new IllegalArgumentException("parley.gpu.hand-off-timeout must be positive, got " + handOffTimeout);
    if (orphanTimeout.isNegative() || orphanTimeout.isZero())
      throw new IllegalArgumentException("parley.gpu.orphan-timeout must be positive, got " + orphanTimeout);
    if (stallTimeout.isNegative() || stallTimeout.isZero())
      throw new IllegalArgumentException("parley.gpu.stall-timeout must be positive, got " + stallTimeout);
    if (placementInterval.isNegative() || placementInterval.isZero())
      throw new IllegalArgumentException("parley.gpu.placement-interval must be positive, got " + placementInterval);
  }

  /** Reads {@code parley.gpu.*} (and {@code parley.data-dir} for the default scratch directory). */
  public static GpuSettings fromConfig(Config parley) {
    Config gpu = parley.getConfig("gpu");
    String scratch = gpu.getString("scratch-dir");
    Path scratchDir = scratch.isBlank() ? Path.of(parley.getString("data-dir"), "scratch") : Path.of(scratch);
    return new GpuSettings(
        gpu.getInt("concurrency"),
        gpu.getDuration("idle-timeout"),
        gpu.getDuration("progress-interval"),
        gpu.getDuration("result-linger"),
        scratchDir,
        gpu.getDuration("hand-off-timeout"),
        gpu.getDuration("orphan-timeout"),
        gpu.getDuration("stall-timeout"),
        gpu.getDuration("placement-interval"));
  }
}
