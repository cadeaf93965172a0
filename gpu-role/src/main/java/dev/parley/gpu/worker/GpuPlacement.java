package dev.parley.gpu.worker;

import dev.parley.protocol.worker.InferenceProtocol;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.ShardCoordinator;
import org.apache.pekko.cluster.sharding.typed.HashCodeMessageExtractor;
import org.apache.pekko.cluster.typed.Cluster;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.collection.immutable.IndexedSeq;
import scala.concurrent.Future;
import scala.jdk.javaapi.FutureConverters;

/**
 * Where the gpu pool's shards go: by free job slots, not by shard count. A job is a worker entity
 * whose shard follows from its attempt id, so placing a new shard places a job:
 * <ul>
 *   <li>a new shard goes to the Up gpu node with the most free slots (running, waiting and just
 *       placed jobs against its {@code parley.gpu.concurrency}), the one with fewer shards on a tie;
 *   <li>every rebalance round moves the shards of jobs that wait for a slot on one node to nodes with
 *       a free slot, as many as there are free slots; a running job is never moved.
 * </ul>
 * Pekko's default strategy balances shard counts, which says nothing about work: a shard stays
 * allocated after its workers have passivated, so a node that had served many jobs got none of the
 * next ones however idle it was, and a node that joined while another held a queue got none of the
 * queue (a chaos review: a second gpu node idled and left while the first worked through eight
 * jobs one by one). A moved waiting job starts on its new node at its meeting's next send
 * ({@link InferenceWorker}, {@code Meeting}).
 *
 * <p>Each gpu node's {@link JobRunner} (found at its fixed path on the region's node) answers
 * {@link JobRunner.GetStatus}; a node that does not
 * answer within the ask timeout (busy, or of an older release during a rolling upgrade) counts as
 * having no free slot. Decisions are taken one at a time, so a burst of jobs sees the ones placed
 * just before it.
 */
public final class GpuPlacement extends ShardCoordinator.AbstractShardAllocationStrategy {
  private static final Logger log = LoggerFactory.getLogger(GpuPlacement.class);

  /**
   * How long a placed shard counts as a job on its node that the node has not reported yet: the RunJob
   * that asked for the shard waits in its region for the placement and reaches the node within
   * milliseconds, so this only covers the next decisions of a burst. Once the node reports the job it
   * counts as running or waiting instead; a short job that ended unreported stops counting after this.
   */
  static final Duration PENDING = Duration.ofSeconds(1);

  /** One gpu node as placement sees it; {@code concurrency} is -1 when its runner did not answer. */
  record NodeLoad(ActorRef region, boolean up, int shards, int concurrency, int running, int waiting, int pending,
      List<String> waitingShards, Set<String> runningShards) {
    boolean known() {
      return concurrency >= 0;
    }

    /** Free slots; negative for a queue; {@link Integer#MIN_VALUE} when unknown. */
    int free() {
      return known() ? concurrency - running - waiting - pending : Integer.MIN_VALUE;
    }
  }

  private record Placed(Address node, long atNanos) {}

  private final ActorSystem<?> system;
  private final HashCodeMessageExtractor<Object> shardOf;
  private final Duration askTimeout;
  private final Map<String, Placed> placed = new ConcurrentHashMap<>();
  private final Map<Address, org.apache.pekko.actor.typed.ActorRef<JobRunner.Command>> runners = new ConcurrentHashMap<>();
  private CompletableFuture<?> turn = CompletableFuture.completedFuture(null);

  /** @param numberOfShards the worker entity's, so that attempt ids map to the shards sharding uses */
  public GpuPlacement(ActorSystem<?> system, int numberOfShards, Duration askTimeout) {
    this.system = system;
    this.shardOf = new HashCodeMessageExtractor<>(numberOfShards);
    this.askTimeout = askTimeout;
  }

  @Override
  public Future<ActorRef> allocateShard(ActorRef requester, String shardId, Map<ActorRef, IndexedSeq<String>> current) {
    return FutureConverters.asScala(inTurn(() -> loads(current).thenApply(nodes -> {
      ActorRef region = choose(nodes);
      if (region == null) region = requester; // no Up gpu node known: where it was asked from
      placed.put(shardId, new Placed(address(region), System.nanoTime()));
      return region;
    })));
  }

  @Override
  public Future<Set<String>> rebalance(Map<ActorRef, IndexedSeq<String>> current, Set<String> inProgress) {
    if (!inProgress.isEmpty()) return FutureConverters.asScala(CompletableFuture.completedFuture(Set.of()));
    return FutureConverters.asScala(inTurn(() -> loads(current).thenApply(nodes -> {
      Set<String> moving = toMove(nodes);
      if (!moving.isEmpty()) {
        log.info("moving {} job(s) waiting for a slot to gpu nodes with a free one (shards {})", moving.size(), moving);
      }
      return moving;
    })));
  }

  /**
   * The region for a new shard: the Up node with the most free slots, fewer shards on a tie; a node
   * whose load is unknown comes last. Null when no node is Up.
   */
  static ActorRef choose(List<NodeLoad> nodes) {
    return nodes.stream()
        .filter(NodeLoad::up)
        .max(Comparator.comparingInt(NodeLoad::free).thenComparing(Comparator.comparingInt(NodeLoad::shards).reversed()))
        .map(NodeLoad::region)
        .orElse(null);
  }

  /**
   * Shards of jobs that wait for a slot while another Up node has a free one, as many as there are
   * free slots, the longest queue first; never a shard that also holds a running job.
   */
  static Set<String> toMove(List<NodeLoad> nodes) {
    int free = 0;
    for (NodeLoad n : nodes) if (n.up() && n.known() && n.free() > 0) free += n.free();
    Set<String> moving = new LinkedHashSet<>();
    List<NodeLoad> queues = new ArrayList<>(nodes);
    queues.sort(Comparator.comparingInt(NodeLoad::waiting).reversed());
    for (NodeLoad n : queues) {
      for (String shard : n.waitingShards()) {
        if (moving.size() >= free) return moving;
        if (!n.runningShards().contains(shard)) moving.add(shard);
      }
    }
    return moving;
  }

  /** Runs one decision after the previous one, so that each sees the shards placed before it. */
  private synchronized <T> CompletableFuture<T> inTurn(Supplier<CompletionStage<T>> decision) {
    CompletableFuture<T> next = turn.handle((x, e) -> null).thenCompose(x -> decision.get()).toCompletableFuture();
    turn = next;
    return next;
  }

  private CompletionStage<List<NodeLoad>> loads(Map<ActorRef, IndexedSeq<String>> current) {
    long now = System.nanoTime();
    placed.values().removeIf(p -> now - p.atNanos() > PENDING.toNanos());
    Set<Address> up = new HashSet<>();
    for (Member m : Cluster.get(system).state().getMembers()) {
      if (m.status().equals(MemberStatus.up()) && m.hasRole(InferenceProtocol.GPU_ROLE)) up.add(m.address());
    }
    List<CompletableFuture<NodeLoad>> each = new ArrayList<>();
    current.forEach((region, shards) -> {
      Address node = address(region);
      each.add(status(node).thenApply(s -> load(region, node, up.contains(node), shards.size(), s)).toCompletableFuture());
    });
    return CompletableFuture.allOf(each.toArray(CompletableFuture[]::new))
        .thenApply(done -> each.stream().map(CompletableFuture::join).toList());
  }

  /** What the node's runner says it holds; null when it does not answer in time. */
  private CompletionStage<JobRunner.Status> status(Address node) {
    var known = runners.get(node);
    CompletionStage<org.apache.pekko.actor.typed.ActorRef<JobRunner.Command>> runner = known != null
        ? CompletableFuture.completedFuture(known)
        : system.classicSystem().actorSelection(node + "/system/" + JobRunner.NAME).resolveOne(askTimeout)
            .thenApply(ref -> {
              org.apache.pekko.actor.typed.ActorRef<JobRunner.Command> typed = Adapter.toTyped(ref);
              runners.put(node, typed);
              return typed;
            });
    return runner
        .thenCompose(r -> AskPattern.<JobRunner.Command, JobRunner.Status>ask(r, JobRunner.GetStatus::new, askTimeout,
            system.scheduler()))
        .exceptionally(e -> {
          runners.remove(node); // resolved again next time: the node may have restarted on its address
          return null;
        });
  }

  private NodeLoad load(ActorRef region, Address node, boolean up, int shards, JobRunner.Status s) {
    if (s == null) return new NodeLoad(region, up, shards, -1, 0, 0, 0, List.of(), Set.of());
    Set<String> running = new HashSet<>();
    for (String attempt : s.running()) running.add(shardOf.shardId(attempt));
    List<String> waiting = new ArrayList<>();
    for (String attempt : s.waiting()) waiting.add(shardOf.shardId(attempt));
    int pending = 0;
    for (var it = placed.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, Placed> p = it.next();
      if (!p.getValue().node().equals(node)) continue;
      if (running.contains(p.getKey()) || waiting.contains(p.getKey())) it.remove(); // reported: counted above
      else pending++;
    }
    return new NodeLoad(region, up, shards, s.concurrency(), s.running().size(), s.waiting().size(), pending, waiting,
        running);
  }

  private Address address(ActorRef region) {
    return address(region.path().address());
  }

  /** A local actor's address has no host: this node's. */
  private Address address(Address a) {
    return a.hasGlobalScope() ? a : Cluster.get(system).selfMember().address();
  }
}
