package dev.parley.gpu.worker;

import dev.parley.protocol.cluster.Members;
import dev.parley.protocol.worker.InferenceProtocol;
import java.time.Duration;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Node-local, on gpu-only nodes: once this node is Up, checks every second that the cluster has
 * an http node it can reach. A gpu node can be left without one: the only http node was restarted
 * (a restarted node forms a new cluster, which this one cannot join without a restart of its own)
 * or downed. Such a node would wait for its idle timeout while meetings wait for a gpu node in the
 * http nodes' cluster, and a job it runs could deliver its result to no one. After {@code timeout}
 * without an http node it runs {@code onOrphaned} once.
 */
public final class OrphanWatcher {
  private static final Logger log = LoggerFactory.getLogger(OrphanWatcher.class);

  private OrphanWatcher() {}

  private enum Tick { INSTANCE }

  public static Behavior<Object> create(Duration timeout, Runnable onOrphaned, String node) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, Duration.ofSeconds(1));
      Cluster cluster = Cluster.get(ctx.getSystem());
      long[] since = {-1};
      return Behaviors.receiveMessage(m -> {
        MemberStatus self = cluster.selfMember().status();
        if (self != MemberStatus.up() && self != MemberStatus.weaklyUp()) {
          since[0] = -1; // not a member yet, or leaving already: the idle watcher and the leave handle that
          return Behaviors.same();
        }
        if (Members.hasReachable(cluster.state(), InferenceProtocol.HTTP_ROLE)) {
          if (since[0] >= 0) log.info("gpu node {}: an http node is back in the cluster", node);
          since[0] = -1;
          return Behaviors.same();
        }
        long now = System.nanoTime();
        if (since[0] < 0) {
          since[0] = now;
          log.warn("gpu node {}: no reachable http node in the cluster; shutting down in {} unless one "
              + "comes back", node, timeout);
        } else if (now - since[0] >= timeout.toNanos()) {
          log.error("gpu node {}: no reachable http node for {}; stopping its jobs and shutting down "
              + "(exit code 75) to be restarted into the http nodes' cluster", node, timeout);
          onOrphaned.run();
          return Behaviors.stopped();
        }
        return Behaviors.same();
      });
    }));
  }
}
