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
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.ShardCoordinator;
import org.apache.pekko.cluster.sharding.typed.HashCodeMessageExtractor;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.util.Version;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.collection.immutable.IndexedSeq;
import scala.concurrent.Future;
import scala.jdk.javaapi.FutureConverters;

/**
 * Where the gpu pool's shards go: by free job slots, not by shard count. A job is a worker entity
 * whose shard follows from its attempt id, so placing a new shard places a job:
 * <ul>
 *   <li>a new shard goes to the Up gpu node of the newest release with the most free slots (running,
 *       waiting and just placed jobs against its {@code parley.gpu.concurrency}), the one with fewer
 *       shards on a tie;
 *   <li>every placement round ({@code parley.gpu.placement-interval}) moves the jobs last in line for
 *       a slot on one node to nodes with a free slot, as many as there are free slots, and releases a
 *       few idle shards (no job, no kept outcome), so that the next job hashed to one is placed afresh
 *       rather than sent where its shard once went. A running job never moves, nor does a shard whose
 *       worker keeps an outcome.
 * </ul>
 * Pekko's default strategy balances shard counts, which says nothing about work: a shard stays
 * allocated after its workers have passivated, so a node that had served many jobs got none of the
 * next ones however idle it was, and a node that joined while another held a queue got none of the
 * queue (a chaos review: a second gpu node idled and left while the first worked through eight
 * jobs one by one). A moved waiting job starts on its new node at its meeting's next send
 * ({@link InferenceWorker}, {@code Meeting}).
 *
 * <p>Decisions are taken at once from the last loads the nodes reported, which a background ask
 * refreshes (each gpu node's {@link JobRunner}, at its fixed path, answers {@link JobRunner.GetStatus}),
 * so a node that does not answer never holds a decision up: it counts as full until it answers (an
 * older release during a rolling upgrade never does). A node not asked yet (it just joined) counts
 * as having a free slot. Rounds are skipped, as Pekko's own strategy skips them, while a member is
 * unreachable or joining or the gpu nodes run different releases.
 */
public final class GpuPlacement extends ShardCoordinator.AbstractShardAllocationStrategy {
  private static final Logger log = LoggerFactory.getLogger(GpuPlacement.class);

  /**
   * How long a placed shard counts as a job on its node that the node has not reported yet. The job
   * of a new shard arrives within milliseconds (its RunJob waited in the region for the placement);
   * a moved one arrives with its meeting's next send (resend-interval, 2 s), and a round (2 s) may
   * come before the node reports it. Once the node reports the job (running, waiting or finished)
   * it stops counting as placed.
   */
  static final Duration PENDING = Duration.ofSeconds(5);

  /** How often the nodes are asked for their loads while placement is in use. */
  static final Duration REFRESH_AFTER = Duration.ofMillis(300);

  /**
   * Placement stops asking this long after its last decision. Rounds come every placement interval
   * while the pool has a node, so the coordinator's node asks all the time; another node whose
   * instance stops being used (the coordinator moved) stops asking.
   */
  static final Duration POLL_WHILE_USED = Duration.ofSeconds(30);

  /** Idle shards released per round: each release is a hand-off every region and proxy acknowledges. */
  static final int IDLE_RELEASES_PER_ROUND = 10;

  /** Moves under way at once, at most. */
  static final int MAX_IN_PROGRESS = 20;

  /**
   * One gpu node as placement sees it.
   *
   * @param concurrency -1 when its runner did not answer ({@link #UNKNOWN}), 0 when it was not asked
   *     yet ({@link #NOT_ASKED})
   * @param busyShards shards holding a running job or a finished worker's kept outcome: never moved
   * @param waitingShards shards of jobs waiting for a slot, in the order they would start
   * @param idleShards allocated here with no job, no outcome and nothing just placed
   */
  record NodeLoad(ActorRef region, boolean up, Version version, int shards, int concurrency, int running, int waiting,
      int pending, List<String> waitingShards, Set<String> busyShards, List<String> idleShards) {
    static final int UNKNOWN = -1;
    static final int NOT_ASKED = 0;

    /** Free slots; negative for a queue; {@link Integer#MIN_VALUE} when it did not answer. */
    int free() {
      if (concurrency == UNKNOWN) return Integer.MIN_VALUE;
      if (concurrency == NOT_ASKED) return 1 - pending;
      return concurrency - running - waiting - pending;
    }

    boolean known() {
      return concurrency > 0;
    }
  }

  private record Placed(Address node, long atNanos) {}

  /** A node's last answer (null: it did not answer) and when it was asked. */
  private record Report(JobRunner.Status status, long atNanos) {}

  private final ActorSystem<?> system;
  private final ActorRef ignoreRef;
  private final HashCodeMessageExtractor<Object> shardOf;
  private final Duration askTimeout;
  private final Map<String, Placed> placed = new ConcurrentHashMap<>();
  private final Map<Address, Report> reports = new ConcurrentHashMap<>();
  private final Map<Address, org.apache.pekko.actor.typed.ActorRef<JobRunner.Command>> runners = new ConcurrentHashMap<>();
  private final AtomicBoolean refreshing = new AtomicBoolean();
  private volatile List<Address> nodes = List.of();
  private volatile long lastUsedNanos;

  /**
   * @param numberOfShards the worker entity's, so that attempt ids map to the shards sharding uses
   * @param askTimeout how long a node has to report its load (below sharding's 2 s retry interval)
   */
  public GpuPlacement(ActorSystem<?> system, int numberOfShards, Duration askTimeout) {
    this.system = system;
    this.ignoreRef = ((ExtendedActorSystem) system.classicSystem()).provider().ignoreRef();
    this.shardOf = new HashCodeMessageExtractor<>(numberOfShards);
    this.askTimeout = askTimeout;
  }

  @Override
  public Future<ActorRef> allocateShard(ActorRef requester, String shardId, Map<ActorRef, IndexedSeq<String>> current) {
    refresh(current);
    if (requester.equals(ignoreRef)) {
      // the coordinator places a shard again as soon as a move of it is done, with no job to place: an
      // answer that is none of its regions leaves the shard unplaced until a job comes for it
      return FutureConverters.asScala(CompletableFuture.completedFuture(requester));
    }
    ActorRef region = choose(loads(current));
    if (region == null) region = requester; // no Up gpu node known: where it was asked from
    placed.put(shardId, new Placed(address(region), System.nanoTime()));
    return FutureConverters.asScala(CompletableFuture.completedFuture(region));
  }

  @Override
  public Future<Set<String>> rebalance(Map<ActorRef, IndexedSeq<String>> current, Set<String> inProgress) {
    refresh(current);
    if (inProgress.size() >= MAX_IN_PROGRESS || !isAGoodTimeToMove()) {
      return FutureConverters.asScala(CompletableFuture.completedFuture(Set.of()));
    }
    List<NodeLoad> loads = loads(current);
    // a move still in progress (a shard whose job started as it was asked to leave finishes first) holds up no other
    Set<String> moving = new LinkedHashSet<>();
    for (String shard : toMove(loads)) {
      if (!inProgress.contains(shard) && moving.size() + inProgress.size() < MAX_IN_PROGRESS) moving.add(shard);
    }
    long jobs = loads.stream().flatMap(n -> n.waitingShards().stream()).filter(moving::contains).count();
    if (jobs > 0) log.info("moving {} job(s) waiting for a slot to gpu nodes with a free one", jobs);
    if (moving.size() > jobs) log.debug("releasing {} idle shard(s)", moving.size() - jobs);
    return FutureConverters.asScala(CompletableFuture.completedFuture(moving));
  }

  /**
   * The region for a new shard: among Up nodes of the newest release, the one with the most free
   * slots, fewer shards on a tie; a node that did not answer comes last. Null when no node is Up.
   */
  static ActorRef choose(List<NodeLoad> nodes) {
    Version newest = nodes.stream().filter(NodeLoad::up).map(NodeLoad::version).max(Comparator.naturalOrder()).orElse(null);
    return nodes.stream()
        .filter(n -> n.up() && n.version().equals(newest))
        .max(Comparator.comparingInt(NodeLoad::free).thenComparing(Comparator.comparingInt(NodeLoad::shards).reversed()))
        .map(NodeLoad::region)
        .orElse(null);
  }

  /**
   * The shards of the jobs last in line on nodes with a queue, as many as other Up nodes have free
   * slots (the first in line is the next to start where it is), never one holding a running job or
   * a kept outcome; and up to {@link #IDLE_RELEASES_PER_ROUND} idle shards.
   */
  static Set<String> toMove(List<NodeLoad> nodes) {
    int free = 0;
    for (NodeLoad n : nodes) if (n.up() && n.known() && n.free() > 0) free += n.free();
    Set<String> moving = new LinkedHashSet<>();
    List<NodeLoad> queues = new ArrayList<>(nodes);
    queues.sort(Comparator.comparingInt(NodeLoad::waiting).reversed());
    for (NodeLoad n : queues) {
      List<String> line = n.waitingShards();
      for (int i = line.size() - 1; i >= 0 && moving.size() < free; i--) {
        if (!n.busyShards().contains(line.get(i))) moving.add(line.get(i));
      }
    }
    int released = 0;
    for (NodeLoad n : nodes) {
      for (String shard : n.idleShards()) {
        if (released++ >= IDLE_RELEASES_PER_ROUND) return moving;
        moving.add(shard);
      }
    }
    return moving;
  }

  /** As Pekko's strategy: not while a member is unreachable or joining, or the gpu nodes run different releases. */
  private boolean isAGoodTimeToMove() {
    ClusterEvent.CurrentClusterState state = Cluster.get(system).state();
    if (!state.getUnreachable().isEmpty()) return false;
    Set<Version> versions = new HashSet<>();
    for (Member m : state.getMembers()) {
      if (m.status().equals(MemberStatus.joining()) || m.status().equals(MemberStatus.weaklyUp())) return false;
      if (m.hasRole(InferenceProtocol.GPU_ROLE)) versions.add(m.appVersion());
    }
    return versions.size() <= 1;
  }

  /** The loads as last reported, with the shards placed since. */
  private List<NodeLoad> loads(Map<ActorRef, IndexedSeq<String>> current) {
    long now = System.nanoTime();
    placed.values().removeIf(p -> now - p.atNanos() > PENDING.toNanos());
    ClusterEvent.CurrentClusterState state = Cluster.get(system).state();
    Map<Address, Member> members = new HashMap<>();
    for (Member m : state.getMembers()) if (!state.getUnreachable().contains(m)) members.put(m.address(), m);
    List<NodeLoad> loads = new ArrayList<>();
    current.forEach((region, shards) -> {
      Address node = address(region);
      Member m = members.get(node);
      boolean up = m != null && m.status().equals(MemberStatus.up()) && m.hasRole(InferenceProtocol.GPU_ROLE);
      List<String> allocated = new ArrayList<>(shards.size());
      shards.foreach(allocated::add);
      loads.add(load(region, node, up, m == null ? Version.Zero() : m.appVersion(), allocated, reports.get(node)));
    });
    return loads;
  }

  private NodeLoad load(ActorRef region, Address node, boolean up, Version version, List<String> allocated, Report r) {
    Set<String> placedHere = new HashSet<>();
    for (Map.Entry<String, Placed> p : placed.entrySet()) if (p.getValue().node().equals(node)) placedHere.add(p.getKey());
    if (r == null || r.status() == null) {
      int concurrency = r == null ? NodeLoad.NOT_ASKED : NodeLoad.UNKNOWN;
      return new NodeLoad(region, up, version, allocated.size(), concurrency, 0, 0, placedHere.size(), List.of(),
          Set.of(), List.of());
    }
    // a report may be older than a move: only the shards this region holds now are its to move
    JobRunner.Status s = r.status();
    Set<String> here = new HashSet<>(allocated);
    Set<String> busy = new HashSet<>();
    for (String attempt : s.running()) busy.add(shardOf.shardId(attempt));
    for (String attempt : s.finished()) busy.add(shardOf.shardId(attempt));
    List<String> waiting = new ArrayList<>();
    for (String attempt : s.waiting()) {
      String shard = shardOf.shardId(attempt);
      if (here.contains(shard)) waiting.add(shard);
    }
    Set<String> reported = new HashSet<>(busy);
    for (String attempt : s.waiting()) reported.add(shardOf.shardId(attempt));
    int pending = 0;
    for (String shard : placedHere) {
      if (reported.contains(shard)) placed.remove(shard); // reported: counted as it is
      else pending++;
    }
    // idle by a fresh report only: a job sent to an allocated shard reaches its node within milliseconds
    List<String> idle = new ArrayList<>();
    boolean fresh = System.nanoTime() - r.atNanos() <= REFRESH_AFTER.multipliedBy(3).toNanos();
    for (String shard : allocated) {
      if (fresh && !busy.contains(shard) && !waiting.contains(shard) && !placedHere.contains(shard)) idle.add(shard);
    }
    busy.retainAll(here);
    return new NodeLoad(region, up, version, allocated.size(), s.concurrency(), s.running().size(), s.waiting().size(),
        pending, waiting, busy, idle);
  }

  /**
   * Keeps the loads fresh: asks every node every {@link #REFRESH_AFTER} in the background for as long
   * as decisions keep coming ({@link #POLL_WHILE_USED} after the last), so a decision reads loads
   * about that old. Three small asks a second per gpu node, on the coordinator's node.
   */
  private void refresh(Map<ActorRef, IndexedSeq<String>> current) {
    List<Address> now = new ArrayList<>();
    for (ActorRef region : current.keySet()) now.add(address(region));
    nodes = now;
    lastUsedNanos = System.nanoTime();
    if (refreshing.compareAndSet(false, true)) poll();
  }

  private void poll() {
    List<Address> asked = nodes;
    reports.keySet().retainAll(asked);
    List<CompletableFuture<Void>> asks = new ArrayList<>();
    for (Address node : asked) {
      asks.add(status(node).thenAccept(s -> reports.put(node, new Report(s, System.nanoTime()))).toCompletableFuture());
    }
    CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new)).whenComplete((done, e) -> {
      if (System.nanoTime() - lastUsedNanos < POLL_WHILE_USED.toNanos()) {
        system.scheduler().scheduleOnce(REFRESH_AFTER, this::poll, system.executionContext());
      } else {
        refreshing.set(false);
      }
    });
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

  private Address address(ActorRef region) {
    Address a = region.path().address();
    return a.hasGlobalScope() ? a : Cluster.get(system).selfMember().address(); // a local actor's address has no host
  }
}
