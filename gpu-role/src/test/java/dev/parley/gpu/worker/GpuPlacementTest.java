package dev.parley.gpu.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.typesafe.config.ConfigFactory;
import dev.parley.gpu.worker.GpuPlacement.NodeLoad;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.testkit.TestProbe;
import org.apache.pekko.util.Version;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The decisions of {@link GpuPlacement}; {@code GpuPoolClusterTest} checks them in a cluster. */
class GpuPlacementTest {
  static final Version V1 = Version.apply("1.0.0");
  static ActorSystem system;
  static ActorRef a;
  static ActorRef b;
  static ActorRef c;

  @BeforeAll
  static void start() {
    system = ActorSystem.create("placement", ConfigFactory.parseString("pekko.actor.provider = local"));
    a = TestProbe.apply(system).ref();
    b = TestProbe.apply(system).ref();
    c = TestProbe.apply(system).ref();
  }

  @AfterAll
  static void stop() {
    system.terminate();
  }

  /** A node that reported its load. */
  static NodeLoad node(ActorRef region, int shards, int concurrency, int running, List<String> waitingShards,
      Set<String> busyShards) {
    return new NodeLoad(region, true, V1, shards, concurrency, running, waitingShards.size(), 0, waitingShards,
        busyShards, List.of());
  }

  /** The chaos review's case: a node that had served many jobs holds many (empty) shards, and is idle. */
  @Test
  void aNewJobGoesWhereASlotIsFreeNotWhereShardsAreFew() {
    NodeLoad servedMany = node(a, 40, 1, 0, List.of(), Set.of());
    NodeLoad busy = node(b, 2, 1, 1, List.of(), Set.of("7"));
    assertEquals(a, GpuPlacement.choose(List.of(servedMany, busy)));
  }

  @Test
  void justPlacedJobsCountAndTiesGoToFewerShards() {
    NodeLoad placedOne = new NodeLoad(a, true, V1, 3, 1, 0, 0, 1, List.of(), Set.of(), List.of());
    NodeLoad free = node(b, 9, 1, 0, List.of(), Set.of());
    assertEquals(b, GpuPlacement.choose(List.of(placedOne, free)), "a just placed job takes its node's slot");
    assertEquals(a, GpuPlacement.choose(List.of(node(a, 3, 2, 0, List.of(), Set.of()), node(b, 9, 2, 0, List.of(), Set.of()))));
    // all full: the shorter queue
    assertEquals(b, GpuPlacement.choose(List.of(node(a, 3, 1, 1, List.of("1", "2", "3", "4"), Set.of("9")),
        node(b, 3, 1, 1, List.of("5"), Set.of("8")))));
  }

  @Test
  void aSilentNodeComesLastAJustJoinedOneHasASlot() {
    NodeLoad silent = new NodeLoad(a, true, V1, 0, NodeLoad.UNKNOWN, 0, 0, 0, List.of(), Set.of(), List.of());
    NodeLoad queue = node(b, 5, 1, 1, List.of("1", "2", "3"), Set.of("4"));
    assertEquals(b, GpuPlacement.choose(List.of(silent, queue)));
    NodeLoad joined = new NodeLoad(c, true, V1, 0, NodeLoad.NOT_ASKED, 0, 0, 0, List.of(), Set.of(), List.of());
    assertEquals(c, GpuPlacement.choose(List.of(queue, joined)));
    NodeLoad joinedAndGiven = new NodeLoad(c, true, V1, 1, NodeLoad.NOT_ASKED, 0, 0, 1, List.of(), Set.of(), List.of());
    assertEquals(c, GpuPlacement.choose(List.of(queue, joinedAndGiven)), "a queue of 3 is longer than one just placed");
  }

  @Test
  void onlyUpNodesOfTheNewestReleaseTakeNewJobs() {
    NodeLoad leaving = new NodeLoad(c, false, V1, 0, 4, 0, 0, 0, List.of(), Set.of(), List.of());
    NodeLoad queue = node(b, 5, 1, 1, List.of("1"), Set.of("4"));
    assertEquals(b, GpuPlacement.choose(List.of(leaving, queue)));
    assertNull(GpuPlacement.choose(List.of(leaving)));
    NodeLoad newer = new NodeLoad(a, true, Version.apply("1.1.0"), 0, 1, 1, 2, 0, List.of("5", "6"), Set.of("7"), List.of());
    assertEquals(a, GpuPlacement.choose(List.of(node(b, 0, 4, 0, List.of(), Set.of()), newer)),
        "an older release's node is about to be replaced");
  }

  /** The other case of the review: a node that joins while another holds a queue takes part of it. */
  @Test
  void theLastInLineMoveToFreeSlotsRunningJobsAndKeptOutcomesStay() {
    NodeLoad queue = node(a, 8, 1, 1, List.of("1", "2", "3", "4", "5", "6", "7"), Set.of("0"));
    NodeLoad joined = node(b, 0, 2, 0, List.of(), Set.of());
    assertEquals(Set.of("7", "6"), GpuPlacement.toMove(List.of(queue, joined)),
        "as many as the free slots, from the end of the line (the first starts next where it is)");
    assertEquals(Set.of(), GpuPlacement.toMove(List.of(queue)), "nowhere to go");
    NodeLoad sharedShard = node(a, 2, 1, 1, List.of("3"), Set.of("3"));
    assertEquals(Set.of(), GpuPlacement.toMove(List.of(sharedShard, joined)), "a shard with a running job or a kept outcome stays");
    NodeLoad leaving = new NodeLoad(c, false, V1, 0, 4, 0, 0, 0, List.of(), Set.of(), List.of());
    assertEquals(Set.of(), GpuPlacement.toMove(List.of(queue, leaving)), "not to a node that is leaving");
    NodeLoad notAsked = new NodeLoad(c, true, V1, 0, NodeLoad.NOT_ASKED, 0, 0, 0, List.of(), Set.of(), List.of());
    assertEquals(Set.of(), GpuPlacement.toMove(List.of(queue, notAsked)), "not before the new node has reported");
  }

  @Test
  void idleShardsAreReleasedAFewAtATime() {
    List<String> idle = List.of("10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20", "21");
    NodeLoad servedMany = new NodeLoad(a, true, V1, 12, 1, 0, 0, 0, List.of(), Set.of(), idle);
    Set<String> moving = GpuPlacement.toMove(List.of(servedMany));
    assertEquals(GpuPlacement.IDLE_RELEASES_PER_ROUND, moving.size(), moving.toString());
  }
}
