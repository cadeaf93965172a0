package dev.parley.gpu.worker;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * Node-local: when this gpu node has had no job (running or waiting) for {@code idleTimeout}, runs
 * {@code onIdle} once — in production a graceful cluster leave, after which coordinated shutdown
 * ends the process with exit code 0. The countdown starts when the role starts.
 *
 * <p>Before it leaves it asks the cluster how many meetings wait for a gpu. While some do, the node
 * stays and asks again every {@link #recheck} (jobs can fail to reach it for a while, for example
 * while sharding recovers from a crashed node: leaving then only makes the scale signal start a new
 * one), but never longer than a second idle timeout, so a count that does not go down (a read side
 * behind, a meeting stuck) costs at most that much gpu time.
 */
public final class IdleWatcher {

  public interface Command {}

  /** The number of jobs this node holds now (running plus waiting for a slot). */
  public record JobCount(int active) implements Command {}

  /** How many meetings wait for a gpu in the cluster; fails when nobody could tell. */
  @FunctionalInterface
  public interface Queue {
    CompletionStage<Long> queued();
  }

  private enum Timeout implements Command { INSTANCE }

  /** The queue's answer to the question asked at the end of idle period {@code period}. */
  private record Queued(int period, long meetings, Throwable failure) implements Command {}

  private static final Object TIMER = "idle";
  private static final Duration MAX_RECHECK = Duration.ofSeconds(10);

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final Duration idleTimeout;
  private final Queue queue; // null: leave without asking
  private final Runnable onIdle;
  private final String node;
  private final LeaveGate gate;
  /** The gate's count of admitted jobs when this idle period began: one admitted since holds the leave off. */
  private long mark;
  private int active = 0;
  private long idleSinceNanos = System.nanoTime();
  /** Counts idle periods, so that an answer about an earlier one (a job came and went since) is ignored. */
  private int period = 0;
  private boolean toldStaying = false;

  private IdleWatcher(ActorContext<Command> ctx, TimerScheduler<Command> timers, Duration idleTimeout, Queue queue,
      Runnable onIdle, String node, LeaveGate gate) {
    this.ctx = ctx;
    this.timers = timers;
    this.idleTimeout = idleTimeout;
    this.queue = queue;
    this.onIdle = onIdle;
    this.node = node;
    this.gate = gate;
    this.mark = gate.admitted();
  }

  /** A watcher that leaves without asking about the queue. */
  public static Behavior<Command> create(Duration idleTimeout, Runnable onIdle, String node) {
    return create(idleTimeout, null, onIdle, node, new LeaveGate());
  }

  /** A watcher whose node's workers admit jobs through no gate of its (tests). */
  public static Behavior<Command> create(Duration idleTimeout, Queue queue, Runnable onIdle, String node) {
    return create(idleTimeout, queue, onIdle, node, new LeaveGate());
  }

  /** @param gate the gate this node's workers admit jobs through */
  public static Behavior<Command> create(Duration idleTimeout, Queue queue, Runnable onIdle, String node, LeaveGate gate) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      IdleWatcher w = new IdleWatcher(ctx, timers, idleTimeout, queue, onIdle, node, gate);
      timers.startSingleTimer(TIMER, Timeout.INSTANCE, idleTimeout);
      ctx.getLog().info("gpu node {}: idle watcher on, leaves the cluster after {} without a job", node, idleTimeout);
      return w.watching();
    }));
  }

  /** How often an idle node that stays for queued meetings asks again: a quarter of the idle timeout, at most 10 s. */
  static Duration recheck(Duration idleTimeout) {
    Duration quarter = idleTimeout.dividedBy(4);
    return quarter.compareTo(MAX_RECHECK) < 0 ? quarter : MAX_RECHECK;
  }

  private Behavior<Command> watching() {
    return Behaviors.receive(Command.class)
        .onMessage(JobCount.class, this::onCount)
        .onMessageEquals(Timeout.INSTANCE, this::onTimeout)
        .onMessage(Queued.class, this::onQueued)
        .build();
  }

  private Behavior<Command> onCount(JobCount c) {
    int before = active;
    active = Math.max(0, c.active());
    if (active > 0) {
      timers.cancel(TIMER);
      if (before == 0) period++;
    } else if (before > 0) {
      idleSinceNanos = System.nanoTime();
      mark = gate.admitted();
      toldStaying = false;
      timers.startSingleTimer(TIMER, Timeout.INSTANCE, idleTimeout);
    }
    return Behaviors.same();
  }

  private Behavior<Command> onTimeout() {
    if (active > 0) return Behaviors.same();
    if (queue == null) return leave(0);
    int asked = period;
    CompletionStage<Long> queued;
    try {
      queued = queue.queued();
    } catch (RuntimeException e) { // as a failed answer: this actor must not stop, or the node would never leave
      queued = CompletableFuture.failedFuture(e);
    }
    ctx.pipeToSelf(queued, (n, e) -> new Queued(asked, n == null ? 0 : n, e));
    return Behaviors.same();
  }

  private Behavior<Command> onQueued(Queued q) {
    if (q.period() != period || active > 0) return Behaviors.same(); // a job came since the question
    if (q.failure() != null) {
      ctx.getLog().info("gpu node {}: could not learn whether meetings wait for a gpu ({}); leaving", node,
          q.failure().toString());
      return leave(0);
    }
    Duration idle = idle();
    Duration left = idleTimeout.multipliedBy(2).minus(idle);
    if (q.meetings() == 0 || left.isNegative() || left.isZero()) return leave(q.meetings());
    Duration next = recheck(idleTimeout).compareTo(left) < 0 ? recheck(idleTimeout) : left;
    if (!toldStaying) {
      ctx.getLog().info("gpu node {}: no job for {} ms, but {} meeting(s) wait for a gpu; staying for them, at most {} ms more",
          node, idle.toMillis(), q.meetings(), left.toMillis());
      toldStaying = true;
    }
    timers.startSingleTimer(TIMER, Timeout.INSTANCE, next);
    return Behaviors.same();
  }

  private Duration idle() {
    return Duration.ofNanos(System.nanoTime() - idleSinceNanos);
  }

  private Behavior<Command> leave(long stillQueued) {
    if (!gate.close(mark)) {
      // a worker took a job whose count is on its way here: stay; the count stops this timer
      ctx.getLog().info("gpu node {}: a job was accepted as the node was about to leave; staying", node);
      mark = gate.admitted();
      timers.startSingleTimer(TIMER, Timeout.INSTANCE, idleTimeout);
      return Behaviors.same();
    }
    if (stillQueued > 0) {
      ctx.getLog().info("gpu node {}: no job for {} ms while {} meeting(s) still wait for a gpu (none reached this"
          + " node in twice the idle-timeout {}), leaving the cluster", node, idle().toMillis(), stillQueued, idleTimeout);
    } else {
      ctx.getLog().info("gpu node {}: no job for {} ms (idle-timeout {}), leaving the cluster",
          node, idle().toMillis(), idleTimeout);
    }
    try {
      onIdle.run();
    } catch (RuntimeException e) {
      ctx.getLog().error("gpu node {}: idle leave failed", node, e);
    }
    return left();
  }

  /** After the leave started: jobs may still be handed over; nothing more to decide here. */
  private Behavior<Command> left() {
    return Behaviors.receive(Command.class)
        .onMessage(JobCount.class, c -> {
          if (c.active() > 0)
            ctx.getLog().warn("gpu node {}: {} job(s) arrived while leaving; their meetings will re-dispatch",
                node, c.active());
          return Behaviors.same();
        })
        .onMessageEquals(Timeout.INSTANCE, Behaviors::same)
        .onMessage(Queued.class, q -> Behaviors.same())
        .build();
  }
}
