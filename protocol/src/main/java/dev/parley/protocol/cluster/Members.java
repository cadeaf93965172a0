package dev.parley.protocol.cluster;

import java.util.Optional;
import org.apache.pekko.cluster.ClusterEvent.CurrentClusterState;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;

/** The cluster-membership rules both roles decide by, on one snapshot of the cluster state. */
public final class Members {
  private Members() {}

  /** Up, WeaklyUp or Leaving: a member that still serves (a leaving one until it is gone). */
  public static boolean isServing(Member m) {
    MemberStatus s = m.status();
    return s == MemberStatus.up() || s == MemberStatus.weaklyUp() || s == MemberStatus.leaving();
  }

  /** Whether a member with {@code role} is serving and reachable from this node. */
  public static boolean hasReachable(CurrentClusterState state, String role) {
    for (Member m : state.getMembers()) {
      if (m.hasRole(role) && isServing(m) && !state.getUnreachable().contains(m)) return true;
    }
    return false;
  }

  /**
   * The member at {@code hostPort} (as {@code Address.hostPort()} writes it), unless it is
   * unreachable or gone (left, or downed and removed). At most one incarnation of a host:port is a
   * member at a time, so a restarted node is never mistaken for the dead one.
   */
  public static Optional<Member> findReachable(CurrentClusterState state, String hostPort) {
    for (Member m : state.getUnreachable()) {
      if (m.address().hostPort().equals(hostPort)) return Optional.empty();
    }
    for (Member m : state.getMembers()) {
      if (m.address().hostPort().equals(hostPort)) return Optional.of(m);
    }
    return Optional.empty();
  }
}
