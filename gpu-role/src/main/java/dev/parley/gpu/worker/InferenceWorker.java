package dev.parley.gpu.worker;

import dev.parley.protocol.worker.InferenceProtocol;
import dev.parley.protocol.worker.InferenceProtocol.CancelJob;
import dev.parley.protocol.worker.InferenceProtocol.JobAccepted;
import dev.parley.protocol.worker.InferenceProtocol.JobCompleted;
import dev.parley.protocol.worker.InferenceProtocol.JobFailed;
import dev.parley.protocol.worker.InferenceProtocol.JobProgress;
import dev.parley.protocol.worker.InferenceProtocol.JobUpdate;
import dev.parley.protocol.worker.InferenceProtocol.RunJob;
import dev.parley.protocol.worker.InferenceProtocol.WorkerCommand;
import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * One attempt of one meeting's diarization, sharded on the gpu role (entity id = attempt id).
 *
 * <p>On {@link RunJob} it answers {@link JobAccepted} at once (again for every repeat, taking the
 * repeat's {@code replyTo}: a restarted http node sends a new one), hands the job to the node's
 * {@link JobRunner}, reports {@link JobProgress} at least every {@code progress-interval} while the
 * job waits for a slot or runs (the Meeting's heartbeat), then sends exactly one {@link
 * JobCompleted} or {@link JobFailed}. It keeps that outcome for {@code result-linger} to answer a
 * late repeat without running the job twice, then passivates.
 *
 * <p>{@link CancelJob} (an attempt nobody waits for any more: meeting deleted, attempt superseded,
 * or another attempt delivered) drops the job if it waits for a slot and stops it at its next
 * progress point if it runs; the outcome is then a retryable {@link JobFailed} (the meeting that
 * cancelled ignores it; one whose attempt this node gave up, with no http node to report to, runs it again).
 *
 * <p>A worker on a node that is leaving the cluster (it went idle, or was told to stop) accepts
 * no job: the meeting keeps re-sending, and a re-send after the shard has moved reaches a worker on
 * another node. Accepting would bind the job to a node about to exit without it.
 *
 * <p>Sharding stops it with {@link HandOff} (passivation, a shard moved by {@link GpuPlacement}, a
 * graceful leave). A worker whose job still waits for a slot withdraws it from the runner and stops: its
 * meeting keeps sending a waiting job, and the next send starts it on the shard's new node. A worker whose job is
 * running stops only once the job is done and its outcome sent, so moving a shard never throws work
 * away; it skips the linger then. On a node that is
 * leaving, it stops the job and itself at once: the meeting sees the node go and runs the job again.
 */
public final class InferenceWorker {

  private record FromRunner(JobRunner.Event event) implements WorkerCommand {}

  private enum Tick implements WorkerCommand { INSTANCE }

  private enum LingerOver implements WorkerCommand { INSTANCE }

  /** Sharding's stop message for workers (local only: the shard sends it to its own entity). */
  public enum HandOff implements WorkerCommand { INSTANCE }

  private static final Object TICK = "progress";

  private final ActorContext<WorkerCommand> ctx;
  private final TimerScheduler<WorkerCommand> timers;
  private final String attemptId;
  private final ActorRef<JobRunner.Command> runner;
  private final GpuSettings settings;
  private final String node;
  private final ActorRef<ClusterSharding.ShardCommand> shard;
  private final BooleanSupplier leaving;
  private final LeaveGate gate;

  private RunJob job;
  private ActorRef<JobUpdate> replyTo;
  private String stage = InferenceProtocol.STAGE_WAITING;
  private double fraction = 0.0;
  private JobUpdate outcome;
  private boolean handingOff;

  private InferenceWorker(ActorContext<WorkerCommand> ctx, TimerScheduler<WorkerCommand> timers, String attemptId,
      ActorRef<JobRunner.Command> runner, GpuSettings settings, String node,
      ActorRef<ClusterSharding.ShardCommand> shard, BooleanSupplier leaving, LeaveGate gate) {
    this.ctx = ctx;
    this.timers = timers;
    this.attemptId = attemptId;
    this.runner = runner;
    this.settings = settings;
    this.node = node;
    this.shard = shard;
    this.leaving = leaving;
    this.gate = gate;
  }

  /**
   * @param shard the entity's shard (for passivation); {@code null} outside sharding (tests), where
   *     the worker stops itself instead
   * @param leaving whether this node is leaving the cluster (then no job is accepted)
   */
  public static Behavior<WorkerCommand> create(String attemptId, ActorRef<JobRunner.Command> runner,
      GpuSettings settings, String node, ActorRef<ClusterSharding.ShardCommand> shard,
      BooleanSupplier leaving) {
    return create(attemptId, runner, settings, node, shard, leaving, new LeaveGate());
  }

  /** @param gate the gate this node's idle watcher closes when it leaves: a job is accepted only through it */
  public static Behavior<WorkerCommand> create(String attemptId, ActorRef<JobRunner.Command> runner,
      GpuSettings settings, String node, ActorRef<ClusterSharding.ShardCommand> shard,
      BooleanSupplier leaving, LeaveGate gate) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new InferenceWorker(ctx, timers, attemptId, runner, settings, node, shard, leaving, gate).idle()));
  }

  private Behavior<WorkerCommand> idle() {
    return Behaviors.receive(WorkerCommand.class)
        .onMessage(RunJob.class, this::start)
        .onMessage(CancelJob.class, c -> passivate())
        .onMessage(FromRunner.class, m -> Behaviors.same())
        .onMessageEquals(Tick.INSTANCE, Behaviors::same)
        .onMessageEquals(LingerOver.INSTANCE, Behaviors::same)
        .onMessageEquals(HandOff.INSTANCE, Behaviors::stopped)
        .build();
  }

  private Behavior<WorkerCommand> start(RunJob run) {
    if (!attemptId.equals(run.attemptId())) {
      ctx.getLog().warn("worker {} on {}: ignoring RunJob for attempt {} of meeting {} (wrong entity)",
          attemptId, node, run.attemptId(), run.meetingId());
      return Behaviors.same();
    }
    if (leaving.getAsBoolean() || !gate.admit()) {
      ctx.getLog().info("meeting {} attempt {} on {}: not accepted, this node is leaving the cluster",
          run.meetingId(), attemptId, node);
      return Behaviors.same();
    }
    job = run;
    replyTo = run.replyTo();
    ctx.getLog().info("meeting {} attempt {} (#{}) on {}: accepted", run.meetingId(), attemptId, run.attempt(), node);
    replyTo.tell(new JobAccepted(run.meetingId(), attemptId, node));
    ActorRef<JobRunner.Event> events = ctx.messageAdapter(JobRunner.Event.class, FromRunner::new);
    runner.tell(new JobRunner.Submit(run.meetingId(), attemptId, run.audioKey(), run.options(), events));
    timers.startTimerAtFixedRate(TICK, Tick.INSTANCE, settings.progressInterval());
    sendProgress();
    return active();
  }

  private Behavior<WorkerCommand> active() {
    return Behaviors.receive(WorkerCommand.class)
        .onMessage(RunJob.class, this::repeat)
        .onMessage(CancelJob.class, this::cancel)
        .onMessage(FromRunner.class, this::onRunner)
        .onMessageEquals(Tick.INSTANCE, () -> {
          sendProgress();
          return Behaviors.same();
        })
        .onMessageEquals(LingerOver.INSTANCE, Behaviors::same)
        .onMessageEquals(HandOff.INSTANCE, () -> {
          if (leaving.getAsBoolean()) {
            // the node exits: waiting for the job would only hold its leave up to the hand-off's
            // timeout, and the job's result would reach the meeting after it has run it again
            ctx.getLog().info("meeting {} attempt {} on {}: this node is leaving; the job stops and its meeting"
                + " runs it again elsewhere", job.meetingId(), attemptId, node);
            runner.tell(new JobRunner.Cancel(attemptId, "this gpu node is leaving the cluster"));
            return Behaviors.stopped();
          }
          handingOff = true;
          if (InferenceProtocol.STAGE_WAITING.equals(stage)) {
            // moved to a node with a free slot (GpuPlacement), unless its slot came meanwhile: the
            // runner says which (Withdrawn), after the Started it may have sent first
            runner.tell(new JobRunner.Withdraw(attemptId, ctx.messageAdapter(JobRunner.Event.class, FromRunner::new)));
            return Behaviors.same();
          }
          ctx.getLog().info("meeting {} attempt {} on {}: shard handed off; stopping once the job is done",
              job.meetingId(), attemptId, node);
          return Behaviors.same();
        })
        .build();
  }

  private Behavior<WorkerCommand> repeat(RunJob run) {
    if (!job.attemptId().equals(run.attemptId()) || !job.meetingId().equals(run.meetingId())) {
      ctx.getLog().warn("worker {} on {}: ignoring RunJob for meeting {} attempt {} (holds meeting {})",
          attemptId, node, run.meetingId(), run.attemptId(), job.meetingId());
      return Behaviors.same();
    }
    if (!run.replyTo().equals(replyTo)) {
      ctx.getLog().info("meeting {} attempt {} on {}: repeated RunJob with a new reply address",
          job.meetingId(), attemptId, node);
      replyTo = run.replyTo();
    }
    replyTo.tell(new JobAccepted(job.meetingId(), attemptId, node));
    if (outcome != null) {
      replyTo.tell(outcome);
    } else {
      sendProgress();
    }
    return Behaviors.same();
  }

  private Behavior<WorkerCommand> cancel(CancelJob c) {
    if (job.attemptId().equals(c.attemptId()) && job.meetingId().equals(c.meetingId())) {
      runner.tell(new JobRunner.Cancel(attemptId, c.reason()));
    }
    return Behaviors.same();
  }

  private Behavior<WorkerCommand> onRunner(FromRunner m) {
    JobRunner.Event e = m.event();
    if (e instanceof JobRunner.Withdrawn w) {
      if (w.withdrawn()) {
        // its meeting keeps sending a waiting job; the next send starts it on the shard's new node
        ctx.getLog().info("meeting {} attempt {} on {}: handed off while waiting for a slot; it runs on the shard's"
            + " new node", job.meetingId(), attemptId, node);
        return Behaviors.stopped();
      }
      ctx.getLog().info("meeting {} attempt {} on {}: shard handed off as the job started; stopping once it is done",
          job.meetingId(), attemptId, node);
    } else if (e instanceof JobRunner.Started) {
      if (InferenceProtocol.STAGE_WAITING.equals(stage)) stage = "starting";
      sendProgress();
    } else if (e instanceof JobRunner.Progress p) {
      boolean newStage = !p.stage().equals(stage);
      stage = p.stage();
      fraction = Math.max(0.0, Math.min(1.0, p.fraction()));
      if (newStage) sendProgress();
    } else if (e instanceof JobRunner.Finished f) {
      timers.cancel(TICK);
      if (f.outcome() instanceof JobOutcome.Completed c) {
        outcome = new JobCompleted(job.meetingId(), attemptId, c.result(), node);
      } else {
        JobOutcome.Failed failed = (JobOutcome.Failed) f.outcome();
        outcome = new JobFailed(job.meetingId(), attemptId, failed.reason(), failed.retryable(), node);
      }
      replyTo.tell(outcome);
      if (handingOff) return Behaviors.stopped();
      if (settings.resultLinger().isZero()) {
        if (shard == null) return Behaviors.stopped();
        shard.tell(new ClusterSharding.Passivate<>(ctx.getSelf())); // it stops the finished worker soon
        return finished();
      }
      timers.startSingleTimer(LingerOver.INSTANCE, settings.resultLinger());
      return finished();
    }
    return Behaviors.same();
  }

  private Behavior<WorkerCommand> finished() {
    return Behaviors.receive(WorkerCommand.class)
        .onMessage(RunJob.class, this::repeat)
        .onMessage(CancelJob.class, c -> Behaviors.same())
        .onMessage(FromRunner.class, m -> Behaviors.same())
        .onMessageEquals(Tick.INSTANCE, Behaviors::same)
        .onMessageEquals(LingerOver.INSTANCE, this::passivate)
        .onMessageEquals(HandOff.INSTANCE, Behaviors::stopped)
        .build();
  }

  private Behavior<WorkerCommand> passivate() {
    if (shard == null) return Behaviors.stopped();
    shard.tell(new ClusterSharding.Passivate<>(ctx.getSelf()));
    return Behaviors.same();
  }

  private void sendProgress() {
    replyTo.tell(new JobProgress(job.meetingId(), attemptId, stage, fraction, node));
  }
}
