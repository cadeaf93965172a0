package dev.parley.http.cluster;

import dev.parley.protocol.worker.InferenceProtocol;
import java.time.Duration;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Down;
import org.apache.pekko.cluster.typed.Subscribe;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * On http nodes: downs a gpu-only member that has been unreachable for {@code after}, ahead of the
 * split-brain resolver (which waits for stable-after, 7 s, after the last reachability change).
 *
 * <p>gpu nodes are disposable, and waiting for the resolver costs more than a slower decision:
 * a gpu node that crashes after it has reported another crashed gpu node unreachable, before the
 * resolver has downed that one, counts for Pekko's resolver as "indirectly connected", which it
 * cannot resolve, and it then downs every node, http nodes included. Downed quickly, the first
 * node is removed with its reports before a second crash, and the resolver is left only the http
 * nodes' failures (and partitions), which its lease arbitrates. A gpu node downed because of a
 * network blip longer than {@code after} shuts down and is restarted by its supervisor; its job is
 * re-dispatched.
 */
public final class GpuReaper {
  private static final Logger log = LoggerFactory.getLogger(GpuReaper.class);

  private GpuReaper() {}

  private record Check(Address node) {}

  public static Behavior<Object> create(Duration after) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      Cluster cluster = Cluster.get(ctx.getSystem());
      ActorRef<ClusterEvent.ReachabilityEvent> reach = ctx.messageAdapter(ClusterEvent.ReachabilityEvent.class, e -> e);
      ActorRef<ClusterEvent.MemberRemoved> removed = ctx.messageAdapter(ClusterEvent.MemberRemoved.class, e -> e);
      cluster.subscriptions().tell(Subscribe.create(reach, ClusterEvent.ReachabilityEvent.class));
      cluster.subscriptions().tell(Subscribe.create(removed, ClusterEvent.MemberRemoved.class));
      return Behaviors.receiveMessage(msg -> {
        if (msg instanceof ClusterEvent.UnreachableMember u && gpuOnly(u.member())) {
          timers.startSingleTimer(u.member().address(), new Check(u.member().address()), after);
        } else if (msg instanceof ClusterEvent.ReachableMember r) {
          timers.cancel(r.member().address());
        } else if (msg instanceof ClusterEvent.MemberRemoved r) {
          timers.cancel(r.member().address());
        } else if (msg instanceof Check c) {
          for (Member m : cluster.state().getUnreachable()) {
            if (m.address().equals(c.node()) && gpuOnly(m)) {
              log.warn("gpu node {} unreachable for {} ms: downing it (gpu nodes are disposable; its jobs are "
                  + "re-dispatched)", m.address().hostPort(), after.toMillis());
              cluster.manager().tell(new Down(m.address()));
            }
          }
        }
        return Behaviors.same();
      });
    }));
  }

  private static boolean gpuOnly(Member m) {
    return m.hasRole(InferenceProtocol.GPU_ROLE) && !m.hasRole(InferenceProtocol.HTTP_ROLE);
  }
}
