package dev.parley.gpu;

import dev.parley.gpu.pipeline.Diarizer;
import dev.parley.gpu.pipeline.audio.AudioDecoder;
import dev.parley.gpu.worker.GpuPlacement;
import dev.parley.gpu.worker.GpuSettings;
import dev.parley.gpu.worker.IdleWatcher;
import dev.parley.gpu.worker.InferenceWorker;
import dev.parley.gpu.worker.JobExecution;
import dev.parley.gpu.worker.JobRunner;
import dev.parley.gpu.worker.LeaveGate;
import dev.parley.gpu.worker.OrphanWatcher;
import dev.parley.gpu.worker.ScratchSpace;
import dev.parley.protocol.blob.BlobStore;
import dev.parley.protocol.cluster.Members;
import dev.parley.protocol.worker.InferenceProtocol;
import dev.parley.protocol.worker.InferenceProtocol.QueueLength;
import dev.parley.protocol.worker.InferenceProtocol.QueueQuery;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.Done;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Leave;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gpu role of a node: the sharded {@link InferenceWorker} pool (shard regions only on role
 * {@code gpu}, remember-entities off, no automatic passivation), a node-local {@link JobRunner}
 * that runs at most {@code parley.gpu.concurrency} jobs on a dedicated blocking executor, and, on a
 * gpu-only node, an {@link IdleWatcher} that leaves the cluster after {@code parley.gpu.idle-timeout}
 * without a job.
 *
 * <p>Start it before the http role on a combined node: the first {@code ClusterSharding.init} for
 * {@link InferenceProtocol#WORKER} wins, and it must be this one.
 */
public final class GpuRole {
  private static final Logger log = LoggerFactory.getLogger(GpuRole.class);

  /**
   * Why a gpu node shuts down when its cluster has had no http node for {@code orphan-timeout}:
   * exit code 75 ({@code pekko.coordinated-shutdown.reason-overrides}), so a supervisor restarts it.
   */
  public enum NoHttpNode implements CoordinatedShutdown.Reason { INSTANCE }

  /**
   * Why a gpu-only node shuts down when a job it abandoned (no progress for {@code stall-timeout})
   * keeps its thread: exit code 70, so a supervisor restarts it with its slots free.
   */
  public enum Wedged implements CoordinatedShutdown.Reason { INSTANCE }

  /** How long job placement waits for a gpu node to say how many jobs it holds (below sharding's 2 s retry). */
  static final Duration PLACEMENT_ASK_TIMEOUT = Duration.ofSeconds(1);
  /**
   * How long shutdown waits for cancelled jobs' threads to return, within the 10 s the phase before
   * the actor system terminates has (config/application.conf): a job stops at its next progress
   * report or interruptible wait, once the native call it is in has returned (one VAD block or batch
   * of windows, well under a second on a CPU). A thread written off as hung is waited for in vain.
   */
  static final Duration JOB_STOP_WAIT = Duration.ofSeconds(8);

  /** How long an idle gpu node waits to hear how many meetings queue (a database count on an http node). */
  static final Duration QUEUE_ASK_TIMEOUT = Duration.ofSeconds(5);


  private final GpuSettings settings;
  private final ActorRef<JobRunner.Command> runner;
  private final ActorRef<IdleWatcher.Command> idleWatcher;
  private final ThreadPoolExecutor executor;
  private final String node;

  private GpuRole(GpuSettings settings, ActorRef<JobRunner.Command> runner, ActorRef<IdleWatcher.Command> idleWatcher,
      ThreadPoolExecutor executor, String node) {
    this.settings = settings;
    this.runner = runner;
    this.idleWatcher = idleWatcher;
    this.executor = executor;
    this.node = node;
  }

  /** Starts the role with settings read from the system's {@code parley} config section. */
  public static GpuRole start(ActorSystem<?> system, BlobStore blobs, Diarizer diarizer) {
    return start(system, blobs, diarizer, GpuSettings.fromConfig(system.settings().config().getConfig("parley")));
  }

  public static GpuRole start(ActorSystem<?> system, BlobStore blobs, Diarizer diarizer, GpuSettings settings) {
    Cluster cluster = Cluster.get(system);
    if (!cluster.selfMember().hasRole(InferenceProtocol.GPU_ROLE)) {
      throw new IllegalStateException("the gpu role needs pekko.cluster.roles to contain \""
          + InferenceProtocol.GPU_ROLE + "\"; this node has " + cluster.selfMember().getRoles());
    }
    Address self = cluster.selfMember().address();
    String node = self.hostPort();

    // threads as needed: the JobRunner bounds how many jobs run (a hung job's thread, written off, is not reused)
    ThreadPoolExecutor executor = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS,
        new SynchronousQueue<>(), jobThreads()); // a cached pool, whose busy threads can be counted
    system.getWhenTerminated().whenComplete((done, error) -> executor.shutdownNow());

    // a combined http+gpu node must never leave because its gpu side is idle
    ActorRef<IdleWatcher.Command> idleWatcher = null;
    LeaveGate gate = new LeaveGate(); // the idle watcher's leave and the workers' accepting, in order
    if (!cluster.selfMember().hasRole(InferenceProtocol.HTTP_ROLE)) {
      Runnable leave = () -> {
        MemberStatus status = cluster.selfMember().status();
        if (status.equals(MemberStatus.removed())) {
          // never joined: nothing to leave. A failure, not scale-in: the process exits with -1 (255)
          // rather than 0, so the platform sees a gpu node that could not reach its cluster
          log.error("gpu node {}: could not join the cluster (seed nodes {}) within the idle timeout {}; "
              + "shutting down with an error", node, system.settings().config().getStringList("pekko.cluster.seed-nodes"),
              settings.idleTimeout());
          CoordinatedShutdown.get(system).run(CoordinatedShutdown.clusterJoinUnsuccessfulReason());
        } else {
          cluster.manager().tell(Leave.create(self));
        }
      };
      idleWatcher = system.systemActorOf(
          IdleWatcher.create(settings.idleTimeout(), queueOf(system), leave, node, gate), "parley-gpu-idle-watcher",
          Props.empty());
    }
    int stale = AudioDecoder.removeAbandonedTempFiles(Path.of(System.getProperty("java.io.tmpdir")), Duration.ofHours(1));
    if (stale > 0) log.info("removed {} decoder temp file(s) left by processes that died", stale);
    ScratchSpace scratch;
    try {
      scratch = ScratchSpace.claim(settings.scratchDir());
    } catch (IOException e) {
      throw new IllegalStateException("cannot use the gpu scratch directory " + settings.scratchDir() + ": " + e, e);
    }
    system.getWhenTerminated().whenComplete((done, error) -> scratch.close());
    JobExecution execution = new JobExecution(blobs, diarizer, scratch.dir());
    ActorRef<JobRunner.Command> runner = system.systemActorOf(
        JobRunner.create(execution, executor, settings.concurrency(), idleWatcher, node, settings.stallTimeout(),
            settings.resultLinger(),
            () -> {
              // a node that also serves http keeps serving, the hung thread written off; its operator has the error
              if (!cluster.selfMember().hasRole(InferenceProtocol.HTTP_ROLE)) {
                CoordinatedShutdown.get(system).run(Wedged.INSTANCE);
              }
            }),
        JobRunner.NAME, Props.empty());

    // the JVM exits as soon as the actor system has terminated, and a job thread still inside libtorch
    // then meets its global destructors: the process died of SIGSEGV when a gpu node was downed
    // mid-job. So the jobs are cancelled, and their threads waited for, before the system terminates.
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "parley-stop-gpu-jobs",
        () -> {
          runner.tell(new JobRunner.CancelAll("this gpu node is shutting down"));
          return CompletableFuture.supplyAsync(() -> awaitNoRunningJob(executor, node));
        });

    if (!cluster.selfMember().hasRole(InferenceProtocol.HTTP_ROLE)) {
      system.systemActorOf(OrphanWatcher.create(settings.orphanTimeout(), () -> {
        // the results could reach no one: stop the jobs, so the shard hand-off does not wait for them
        runner.tell(new JobRunner.CancelAll("this gpu node has no http node to report to"));
        CoordinatedShutdown.get(system).run(NoHttpNode.INSTANCE);
      }, node), "parley-gpu-orphan-watcher", Props.empty());
    }

    ClusterShardingSettings sharding = ClusterShardingSettings.create(system);
    ClusterSharding.get(system).init(
        Entity.of(InferenceProtocol.WORKER,
                ctx -> InferenceWorker.create(ctx.getEntityId(), runner, settings, node, ctx.getShard(),
                    // Up until cluster-leave, which coordinated shutdown runs after the shard hand-off
                    () -> !cluster.selfMember().status().equals(MemberStatus.up())
                        || CoordinatedShutdown.get(system).getShutdownReason().isPresent(), gate))
            .withRole(InferenceProtocol.GPU_ROLE)
            // jobs go where slots are free, and waiting ones move there (Pekko's default counts shards)
            .withAllocationStrategy(new GpuPlacement(system, sharding.numberOfShards(), PLACEMENT_ASK_TIMEOUT))
            // a worker asked to stop for a hand-off first finishes its running job (InferenceWorker.HandOff)
            .withStopMessage(InferenceWorker.HandOff.INSTANCE)
            // the worker passivates itself when done; a long job receives no messages and must not be passivated
            .withSettings(tuned(sharding.withNoPassivationStrategy()
                .withRememberEntities(false), settings)));
    log.info("gpu role started on {}: concurrency {}, progress every {}, idle leave {}", node,
        settings.concurrency(), settings.progressInterval(),
        idleWatcher == null ? "off (node also has the http role)" : "after " + settings.idleTimeout());
    return new GpuRole(settings, runner, idleWatcher, executor, node);
  }

  /**
   * The pool's hand-off timeout, and a placement round every {@code placement-interval} (2 s) instead
   * of Pekko's 10 s: a gpu node whose job ended takes a waiting one from another node within it.
   */
  private static ClusterShardingSettings tuned(ClusterShardingSettings s, GpuSettings settings) {
    return s.withTuningParameters(s.tuningParameters().withHandOffTimeout(settings.handOffTimeout())
        .withRebalanceInterval(settings.placementInterval()));
  }

  /**
   * The cluster's queue as a reachable http node counts it (its {@link InferenceProtocol#QUEUE_REPORTER}),
   * asked by address, as placement asks gpu nodes: membership is known the moment this node is Up.
   * 0 when there is no http node to wait for; a failed future when the one asked does not answer (an
   * http node of an older release has no such actor), so the node then leaves as it always did.
   */
  private static IdleWatcher.Queue queueOf(ActorSystem<?> system) {
    return () -> {
      ClusterEvent.CurrentClusterState state = Cluster.get(system).state();
      List<Address> http = new ArrayList<>();
      for (Member m : state.getMembers()) {
        if (m.hasRole(InferenceProtocol.HTTP_ROLE) && Members.isServing(m) && !state.getUnreachable().contains(m)) {
          http.add(m.address());
        }
      }
      if (http.isEmpty()) return CompletableFuture.completedFuture(0L);
      Address one = http.get(ThreadLocalRandom.current().nextInt(http.size()));
      return system.classicSystem().actorSelection(one + "/system/" + InferenceProtocol.QUEUE_REPORTER)
          .resolveOne(QUEUE_ASK_TIMEOUT)
          .thenCompose(ref -> AskPattern.<QueueQuery, QueueLength>ask(Adapter.toTyped(ref), QueueQuery::new,
              QUEUE_ASK_TIMEOUT, system.scheduler()))
          .thenApply(QueueLength::queued);
    };
  }

  /** Waits, {@link #JOB_STOP_WAIT} at most, until no job thread runs. */
  private static Done awaitNoRunningJob(ThreadPoolExecutor executor, String node) {
    long deadline = System.nanoTime() + JOB_STOP_WAIT.toNanos();
    try {
      while (executor.getActiveCount() > 0) {
        if (System.nanoTime() > deadline) {
          log.warn("gpu node {} shuts down with {} job thread(s) still running after {}", node,
              executor.getActiveCount(), JOB_STOP_WAIT);
          break;
        }
        Thread.sleep(20);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return Done.getInstance();
  }

  private static ThreadFactory jobThreads() {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, "parley-gpu-job-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  public GpuSettings settings() {
    return settings;
  }

  /** The node-local job runner (ask it {@link JobRunner.GetStatus} for running and waiting jobs). */
  public ActorRef<JobRunner.Command> runner() {
    return runner;
  }

  /** {@code true} when this node leaves the cluster after its idle timeout. */
  public boolean leavesWhenIdle() {
    return idleWatcher != null;
  }

  /**
   * After the actor system terminated (which interrupts running jobs), waits until the job threads
   * have returned, so the caller can close the Diarizer safely. {@code false} on timeout.
   */
  public boolean awaitJobThreads(Duration timeout) throws InterruptedException {
    return executor.awaitTermination(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** host:port of this node, as reported in JobAccepted/JobProgress. */
  public String node() {
    return node;
  }
}
