package dev.parley.gpu.worker;

import dev.parley.protocol.CborSerializable;
import dev.parley.protocol.DiarizationOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Node-local limiter and executor of jobs: at most {@code concurrency} jobs run at once on the
 * dedicated blocking executor (never on an actor thread); the others wait here in arrival order.
 * A job, once started, holds its slot until its thread returns, even if its worker entity stops.
 * It tells the {@link IdleWatcher} how many jobs the node holds.
 *
 * <p>A running job that reports no progress for {@code stall-timeout} (a read on a dead
 * connection, a hung native call) is abandoned: its worker is told it failed and may be retried,
 * so the meeting runs it again elsewhere instead of waiting on a heartbeat that only shows the
 * worker is alive, and its thread is interrupted. A thread that does not return within
 * {@link #WEDGED_AFTER} of that is written off: its slot goes to the next job (the executor makes
 * threads as needed; the runner alone bounds how many run), and {@code onWedged} runs once (a
 * gpu-only node shuts down to be restarted, since a hung call may hold native resources).
 */
public final class JobRunner {

  public interface Command {}

  /** Run (or queue) one attempt; events go to {@code worker}. A repeat for the same attempt only updates {@code worker}. */
  public record Submit(
      String meetingId, String attemptId, String audioKey, DiarizationOptions options, ActorRef<Event> worker)
      implements Command {}

  /**
   * Stop one attempt: a waiting job is dropped and its worker told at once, a running one is
   * cancelled and frees its slot when its thread returns (the worker gets the failed outcome then).
   */
  public record Cancel(String attemptId, String reason) implements Command {}

  /** Stop every job of this node, waiting or running, as {@link Cancel} does one. */
  public record CancelAll(String reason) implements Command {}

  /**
   * The runner's name under {@code /system} on every gpu node, where {@link GpuPlacement} asks it for
   * its {@link Status} to place jobs where slots are free.
   */
  public static final String NAME = "parley-gpu-job-runner";

  /** Current jobs of this node, by attempt id: asked across the cluster by {@link GpuPlacement}. */
  public record GetStatus(ActorRef<Status> replyTo) implements Command, CborSerializable {}

  /**
   * @param waiting in the order they would start
   * @param finished attempts that ended within the result linger: their workers keep the outcome for a repeat
   * @param concurrency how many jobs this node runs at once
   */
  public record Status(List<String> running, List<String> waiting, List<String> finished, int concurrency)
      implements CborSerializable {}

  /**
   * Take back a job that still waits for a slot (its shard moves to another node): answered {@link
   * Withdrawn}, {@code true} when it was waiting and is dropped, {@code false} when it has started
   * (the {@link Started} came first) or is unknown.
   */
  public record Withdraw(String attemptId, ActorRef<Event> replyTo) implements Command {}

  /** What the runner tells a worker. */
  public interface Event {}

  /** The job got a slot and its thread starts now. */
  public record Started() implements Event {}

  public record Progress(String stage, double fraction) implements Event {}

  public record Finished(JobOutcome outcome) implements Event {}

  public record Withdrawn(boolean withdrawn) implements Event {}

  private record JobProgress(String attemptId, String stage, double fraction) implements Command {}

  private record JobDone(String attemptId, JobOutcome outcome, long millis) implements Command {}

  private record WorkerStopped(String attemptId, ActorRef<Event> worker) implements Command {}

  private enum CheckStalls implements Command { INSTANCE }

  /** How long an abandoned job's thread may take to return before the node counts as wedged. */
  static final Duration WEDGED_AFTER = Duration.ofMinutes(1);

  private final ActorContext<Command> ctx;
  private final JobExecution execution;
  private final ExecutorService executor;
  private final int concurrency;
  private final ActorRef<IdleWatcher.Command> idleWatcher; // null: idle leave disabled
  private final String node;
  private final Duration stallTimeout;
  private final Duration wedgedAfter;
  private final Runnable onWedged;
  private final Duration linger;
  private final LinkedHashMap<String, Submit> waiting = new LinkedHashMap<>();
  /** Attempts that ended, with when, for {@code linger}: oldest first. */
  private final LinkedHashMap<String, Long> finished = new LinkedHashMap<>();
  private final Map<String, Running> running = new HashMap<>();
  private boolean wedged;

  /** A job on its thread: who asked for it, how to stop it, and when it last reported progress. */
  private static final class Running {
    Submit submit;
    final Cancellation cancellation;
    String stage = "starting";
    long lastProgressNanos = System.nanoTime();
    /** The failure its worker was told when the job was abandoned for making no progress; null while it is not. */
    JobOutcome.Failed abandoned;
    long abandonedNanos;

    boolean isAbandoned() {
      return abandoned != null;
    }

    Running(Submit submit, Cancellation cancellation) {
      this.submit = submit;
      this.cancellation = cancellation;
    }
  }

  private JobRunner(ActorContext<Command> ctx, JobExecution execution, ExecutorService executor, int concurrency,
      ActorRef<IdleWatcher.Command> idleWatcher, String node, Duration stallTimeout, Duration linger,
      Duration wedgedAfter, Runnable onWedged) {
    this.ctx = ctx;
    this.linger = linger;
    this.execution = execution;
    this.executor = executor;
    this.concurrency = concurrency;
    this.idleWatcher = idleWatcher;
    this.node = node;
    this.stallTimeout = stallTimeout;
    this.wedgedAfter = wedgedAfter;
    this.onWedged = onWedged;
  }

  /**
   * @param stallTimeout a running job with no progress report for this long is abandoned
   * @param linger how long an ended attempt is reported as {@link Status#finished} (the workers' result linger)
   * @param onWedged runs once when an abandoned job's thread has not returned {@link #WEDGED_AFTER} later
   */
  public static Behavior<Command> create(JobExecution execution, ExecutorService executor, int concurrency,
      ActorRef<IdleWatcher.Command> idleWatcher, String node, Duration stallTimeout, Duration linger,
      Runnable onWedged) {
    return create(execution, executor, concurrency, idleWatcher, node, stallTimeout, linger, WEDGED_AFTER, onWedged);
  }

  static Behavior<Command> create(JobExecution execution, ExecutorService executor, int concurrency,
      ActorRef<IdleWatcher.Command> idleWatcher, String node, Duration stallTimeout, Duration linger,
      Duration wedgedAfter, Runnable onWedged) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      Duration every = stallTimeout.dividedBy(4);
      if (every.compareTo(Duration.ofSeconds(15)) > 0) every = Duration.ofSeconds(15);
      timers.startTimerWithFixedDelay(CheckStalls.INSTANCE, every);
      return new JobRunner(ctx, execution, executor, concurrency, idleWatcher, node, stallTimeout, linger,
          wedgedAfter, onWedged).behavior();
    }));
  }

  private Behavior<Command> behavior() {
    return Behaviors.receive(Command.class)
        .onMessage(Submit.class, this::onSubmit)
        .onMessage(JobProgress.class, this::onProgress)
        .onMessage(JobDone.class, this::onDone)
        .onMessage(WorkerStopped.class, this::onWorkerStopped)
        .onMessage(Cancel.class, this::onCancel)
        .onMessageEquals(CheckStalls.INSTANCE, this::checkStalls)
        .onMessage(CancelAll.class, all -> {
          for (String attemptId : new ArrayList<>(waiting.keySet())) onCancel(new Cancel(attemptId, all.reason()));
          for (String attemptId : running.keySet()) onCancel(new Cancel(attemptId, all.reason()));
          return Behaviors.same();
        })
        .onMessage(GetStatus.class, g -> {
          forgetFinishedBefore(System.nanoTime());
          g.replyTo().tell(new Status(List.copyOf(running.keySet()), List.copyOf(waiting.keySet()),
              List.copyOf(finished.keySet()), concurrency));
          return Behaviors.same();
        })
        .onMessage(Withdraw.class, this::onWithdraw)
        .build();
  }

  private Behavior<Command> onSubmit(Submit s) {
    Running run = running.get(s.attemptId());
    Submit known = run != null ? run.submit : waiting.get(s.attemptId());
    if (known != null) {
      if (run != null && run.isAbandoned()) {
        // a new worker for an attempt given up (the first one's JobFailed was lost): the same answer
        if (!known.worker().equals(s.worker())) s.worker().tell(new Finished(run.abandoned));
        return Behaviors.same();
      }
      if (!known.worker().equals(s.worker())) {
        ctx.unwatch(known.worker());
        ctx.watchWith(s.worker(), new WorkerStopped(s.attemptId(), s.worker()));
        if (run != null) {
          run.submit = s;
          s.worker().tell(new Started());
        } else {
          waiting.put(s.attemptId(), s);
        }
      }
      return Behaviors.same();
    }
    ctx.watchWith(s.worker(), new WorkerStopped(s.attemptId(), s.worker()));
    waiting.put(s.attemptId(), s);
    if (running.size() >= concurrency) {
      ctx.getLog().info("meeting {} attempt {} on {}: waiting for a slot ({} running, {} waiting)",
          s.meetingId(), s.attemptId(), node, running.size(), waiting.size());
    }
    startNext();
    reportCount();
    return Behaviors.same();
  }

  private void startNext() {
    while (running.size() < concurrency && !waiting.isEmpty()) {
      String attemptId = waiting.keySet().iterator().next();
      Submit s = waiting.remove(attemptId);
      Cancellation cancellation = new Cancellation();
      running.put(attemptId, new Running(s, cancellation));
      s.worker().tell(new Started());
      ActorRef<Command> self = ctx.getSelf();
      long t0 = System.nanoTime();
      ctx.getLog().info("meeting {} attempt {} on {}: job started", s.meetingId(), attemptId, node);
      try {
        CompletableFuture
            .supplyAsync(() -> execution.run(s.meetingId(), attemptId, s.audioKey(), s.options(),
                (stage, fraction) -> self.tell(new JobProgress(attemptId, stage, fraction)), cancellation), executor)
            .whenComplete((outcome, error) -> self.tell(new JobDone(attemptId,
                outcome != null ? outcome : new JobOutcome.Failed("worker error: " + error, true),
                (System.nanoTime() - t0) / 1_000_000)));
      } catch (RejectedExecutionException e) {
        self.tell(new JobDone(attemptId, new JobOutcome.Failed("gpu node is shutting down", true), 0));
      }
    }
  }

  private Behavior<Command> onProgress(JobProgress p) {
    Running r = running.get(p.attemptId());
    if (r == null || r.isAbandoned()) return Behaviors.same();
    r.lastProgressNanos = System.nanoTime();
    r.stage = p.stage();
    r.submit.worker().tell(new Progress(p.stage(), p.fraction()));
    return Behaviors.same();
  }

  private Behavior<Command> checkStalls() {
    long now = System.nanoTime();
    for (Map.Entry<String, Running> e : new ArrayList<>(running.entrySet())) {
      Running r = e.getValue();
      Submit s = r.submit;
      if (!r.isAbandoned() && now - r.lastProgressNanos > stallTimeout.toNanos()) {
        String why = "the job made no progress for " + stallTimeout.toSeconds() + " s (stage " + r.stage + ") on "
            + node + " and was abandoned";
        ctx.getLog().error("meeting {} attempt {} on {}: no progress for {} in stage {}; abandoning it so that it is "
            + "run again elsewhere", s.meetingId(), e.getKey(), node, stallTimeout, r.stage);
        r.abandonedNanos = now;
        r.abandoned = new JobOutcome.Failed(why, true);
        r.cancellation.cancel("no progress for " + stallTimeout);
        s.worker().tell(new Finished(r.abandoned));
        ctx.unwatch(s.worker());
      } else if (r.isAbandoned() && now - r.abandonedNanos > wedgedAfter.toNanos()) {
        ctx.getLog().error("gpu node {}: the thread of abandoned attempt {} has not returned {} after it was "
            + "interrupted; its slot goes to the next job and the thread is left hanging", node, e.getKey(), wedgedAfter);
        running.remove(e.getKey());
        finished.put(e.getKey(), now); // its worker keeps the failure it was told
        if (!wedged) {
          wedged = true;
          onWedged.run();
        }
        startNext();
        reportCount();
      }
    }
    return Behaviors.same();
  }

  private Behavior<Command> onWithdraw(Withdraw w) {
    Submit queued = waiting.remove(w.attemptId());
    if (queued != null) {
      ctx.getLog().info("meeting {} attempt {} on {}: withdrawn while waiting (it moves to another gpu node)",
          queued.meetingId(), w.attemptId(), node);
      ctx.unwatch(queued.worker());
      reportCount();
    }
    w.replyTo().tell(new Withdrawn(queued != null));
    return Behaviors.same();
  }

  /** Keeps {@link #finished} to the linger, also on a node nobody asks for its status. */
  private void forgetFinishedBefore(long now) {
    finished.values().removeIf(at -> now - at > linger.toNanos());
  }

  private Behavior<Command> onDone(JobDone d) {
    long now = System.nanoTime();
    forgetFinishedBefore(now);
    finished.put(d.attemptId(), now);
    Running r = running.remove(d.attemptId());
    if (r != null && r.isAbandoned()) {
      ctx.getLog().warn("meeting {} attempt {} on {}: the abandoned job's thread returned after {} ms; slot free",
          r.submit.meetingId(), d.attemptId(), node, d.millis());
    } else if (r != null) {
      Submit s = r.submit;
      String how = d.outcome() instanceof JobOutcome.Failed f
          ? "failed (" + (f.retryable() ? "retryable" : "not retryable") + "): " + f.reason()
          : "completed";
      ctx.getLog().info("meeting {} attempt {} on {}: job {} after {} ms", s.meetingId(), d.attemptId(), node, how,
          d.millis());
      s.worker().tell(new Finished(d.outcome()));
      ctx.unwatch(s.worker());
    }
    startNext();
    reportCount();
    return Behaviors.same();
  }

  private Behavior<Command> onWorkerStopped(WorkerStopped w) {
    Submit queued = waiting.get(w.attemptId());
    if (queued != null && queued.worker().equals(w.worker())) {
      waiting.remove(w.attemptId());
      ctx.getLog().info("meeting {} attempt {} on {}: worker stopped while waiting, dropped",
          queued.meetingId(), w.attemptId(), node);
      reportCount();
    }
    // a running job keeps its slot until its thread returns; its outcome then goes nowhere
    return Behaviors.same();
  }

  private Behavior<Command> onCancel(Cancel c) {
    Submit queued = waiting.remove(c.attemptId());
    if (queued != null) {
      ctx.getLog().info("meeting {} attempt {} on {}: cancelled while waiting ({})", queued.meetingId(), c.attemptId(),
          node, c.reason());
      queued.worker().tell(new Finished(new JobOutcome.Failed("cancelled: " + c.reason(), true)));
      ctx.unwatch(queued.worker());
      reportCount();
      return Behaviors.same();
    }
    Running r = running.get(c.attemptId());
    if (r != null && !r.isAbandoned()) {
      ctx.getLog().info("meeting {} attempt {} on {}: cancelling the running job ({})",
          r.submit.meetingId(), c.attemptId(), node, c.reason());
      r.cancellation.cancel(c.reason());
    }
    return Behaviors.same();
  }

  private void reportCount() {
    if (idleWatcher != null) idleWatcher.tell(new IdleWatcher.JobCount(running.size() + waiting.size()));
  }
}
