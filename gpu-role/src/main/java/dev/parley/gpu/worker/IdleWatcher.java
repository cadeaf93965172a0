package dev.parley.gpu.worker;

import java.time.Duration;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * Node-local: when this gpu node has had no job (running or waiting) for {@code idleTimeout}, runs
 * {@code onIdle} once — in production a graceful cluster leave, after which coordinated shutdown
 * ends the process with exit code 0. The countdown starts when the role starts.
 */
public final class IdleWatcher {

  public interface Command {}

  /** The number of jobs this node holds now (running plus waiting for a slot). */
  public record JobCount(int active) implements Command {}

  private enum Timeout implements Command { INSTANCE }

  private static final Object TIMER = "idle";

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final Duration idleTimeout;
  private final Runnable onIdle;
  private final String node;
  private int active = 0;
  private long idleSinceNanos = System.nanoTime();

  private IdleWatcher(
      ActorContext<Command> ctx, TimerScheduler<Command> timers, Duration idleTimeout, Runnable onIdle, String node) {
    this.ctx = ctx;
    this.timers = timers;
    this.idleTimeout = idleTimeout;
    this.onIdle = onIdle;
    this.node = node;
  }

  public static Behavior<Command> create(Duration idleTimeout, Runnable onIdle, String node) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      IdleWatcher w = new IdleWatcher(ctx, timers, idleTimeout, onIdle, node);
      timers.startSingleTimer(TIMER, Timeout.INSTANCE, idleTimeout);
      ctx.getLog().info("gpu node {}: idle watcher on, leaves the cluster after {} without a job", node, idleTimeout);
      return w.watching();
    }));
  }

  private Behavior<Command> watching() {
    return Behaviors.receive(Command.class)
        .onMessage(JobCount.class, this::onCount)
        .onMessageEquals(Timeout.INSTANCE, this::onTimeout)
        .build();
  }

  private Behavior<Command> onCount(JobCount c) {
    int before = active;
    active = Math.max(0, c.active());
    if (active > 0) {
      timers.cancel(TIMER);
    } else if (before > 0) {
      idleSinceNanos = System.nanoTime();
      timers.startSingleTimer(TIMER, Timeout.INSTANCE, idleTimeout);
    }
    return Behaviors.same();
  }

  private Behavior<Command> onTimeout() {
    if (active > 0) return Behaviors.same();
    Duration idle = Duration.ofNanos(System.nanoTime() - idleSinceNanos);
    ctx.getLog().info("gpu node {}: no job for {} ms (idle-timeout {}), leaving the cluster",
        node, idle.toMillis(), idleTimeout);
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
        .build();
  }
}
