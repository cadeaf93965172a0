package dev.parley.http.cluster;

import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.sharding.ShardCoordinator.ActorSystemDependentAllocationStrategy;
import org.apache.pekko.cluster.sharding.ShardCoordinator.ShardAllocationStrategy;
import org.apache.pekko.cluster.sharding.ShardCoordinator.StartableAllocationStrategy;
import scala.collection.immutable.IndexedSeq;
import scala.collection.immutable.Map;
import scala.collection.immutable.Set;
import scala.concurrent.Future;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Pekko's default shard placement, except that a new shard never goes to a node the coordinator's
 * node sees unreachable (while one reachable node hosts a region). Pekko's strategies weigh only
 * shard counts and member status, so a crashed http node, until it is downed (about 12 s), could be
 * handed a new Meeting shard, and every meeting of that shard then waited for the node to be removed.
 * Rebalancing is Pekko's as it is: it already waits while any member is unreachable.
 */
public final class ReachablePlacement implements ActorSystemDependentAllocationStrategy {
  private final ShardAllocationStrategy pekko;
  private volatile Cluster cluster;

  /** @param pekko the strategy Pekko would use ({@code ClusterSharding.defaultShardAllocationStrategy}) */
  public ReachablePlacement(ShardAllocationStrategy pekko) {
    this.pekko = pekko;
  }

  @Override
  public void start(ActorSystem system) {
    cluster = Cluster.get(system);
    if (pekko instanceof ActorSystemDependentAllocationStrategy s) s.start(system);
    else if (pekko instanceof StartableAllocationStrategy s) s.start();
  }

  @Override
  public Future<ActorRef> allocateShard(ActorRef requester, String shardId, Map<ActorRef, IndexedSeq<String>> current) {
    List<ActorRef> away = new ArrayList<>();
    for (ActorRef region : CollectionConverters.asJava(current.keySet())) {
      if (unreachable(region)) away.add(region);
    }
    if (away.isEmpty() || away.size() == current.size()) return pekko.allocateShard(requester, shardId, current);
    return pekko.allocateShard(requester, shardId, current.removedAll(CollectionConverters.asScala(away)));
  }

  @Override
  public Future<Set<String>> rebalance(Map<ActorRef, IndexedSeq<String>> current, Set<String> inProgress) {
    return pekko.rebalance(current, inProgress);
  }

  private boolean unreachable(ActorRef region) {
    Address address = region.path().address().hasLocalScope() ? cluster.selfAddress() : region.path().address();
    for (Member m : cluster.state().getUnreachable()) {
      if (m.address().equals(address)) return true;
    }
    return false;
  }
}
