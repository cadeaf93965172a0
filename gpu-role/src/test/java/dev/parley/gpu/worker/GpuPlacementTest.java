package dev.parley.gpu.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.parley.gpu.worker.GpuPlacement.NodeLoad;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.testkit.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The decisions of {@link GpuPlacement}; {@code GpuPoolClusterTest} checks them in a cluster. */
class GpuPlacementTest {
  static ActorSystem system;
  static ActorRef a;
  static ActorRef b;
  static ActorRef c;

  @BeforeAll
  static void start() {
    system = ActorSystem.create("placement", com.typesafe.config.ConfigFactory.parseString("pekko.actor.provider = local"));
    a = TestProbe.apply(system).ref();
    b = TestProbe.apply(system).ref();
    c = TestProbe.apply(system).ref();
  }

  @AfterAll
  static void stop() {
    system.terminate();
  }

  static NodeLoad node(ActorRef region, int shards, int concurrency, int running, int waiting, List<String> waitingShards,
      Set<String> runningShards) {
    return new NodeLoad(region, true, shards, concurrency, running, waiting, 0, waitingShards, runningShards);
  }

  /** The chaos review's case: a node that had served many jobs holds many (empty) shards, and is idle. */
  @Test
  void aNewJobGoesWhereASlotIsFreeNotWhereShardsAreFew() {
    NodeLoad servedMany = node(a, 40, 1, 0, 0, List.of(), Set.of());
    NodeLoad busy = node(b, 2, 1, 1, 0, List.of(), Set.of("7"));
    assertEquals(a, GpuPlacement.choose(List.of(servedMany, busy)));
  }

  @Test
  void justPlacedJobsCountAndTiesGoToFewerShards() {
    NodeLoad placedOne = new NodeLoad(a, true, 3, 1, 0, 0, 1, List.of(), Set.of());
    NodeLoad free = node(b, 9, 1, 0, 0, List.of(), Set.of());
    assertEquals(b, GpuPlacement.choose(List.of(placedOne, free)), "a just placed job takes its node's slot");
    assertEquals(a, GpuPlacement.choose(List.of(node(a, 3, 2, 0, 0, List.of(), Set.of()), node(b, 9, 2, 0, 0, List.of(), Set.of()))));
    // all full: the shorter queue
    assertEquals(b, GpuPlacement.choose(List.of(node(a, 3, 1, 1, 4, List.of("1", "2", "3", "4"), Set.of("9")),
        node(b, 3, 1, 1, 1, List.of("5"), Set.of("8")))));
  }

  @Test
  void aNodeWithoutAnAnswerOrNotUpComesLast() {
    NodeLoad unknown = new NodeLoad(a, true, 0, -1, 0, 0, 0, List.of(), Set.of());
    NodeLoad queue = node(b, 5, 1, 1, 3, List.of("1", "2", "3"), Set.of("4"));
    assertEquals(b, GpuPlacement.choose(List.of(unknown, queue)));
    NodeLoad leaving = new NodeLoad(c, false, 0, 4, 0, 0, 0, List.of(), Set.of());
    assertEquals(b, GpuPlacement.choose(List.of(leaving, queue)));
    assertNull(GpuPlacement.choose(List.of(leaving)));
  }

  /** The other case of the review: a node that joins while another holds a queue takes part of it. */
  @Test
  void waitingJobsMoveToFreeSlotsButRunningOnesStay() {
    NodeLoad queue = node(a, 8, 1, 1, 7, List.of("1", "2", "3", "4", "5", "6", "7"), Set.of("0"));
    NodeLoad joined = node(b, 0, 2, 0, 0, List.of(), Set.of());
    assertEquals(Set.of("1", "2"), GpuPlacement.toMove(List.of(queue, joined)), "as many as the free slots, oldest first");
    assertEquals(Set.of(), GpuPlacement.toMove(List.of(queue)), "nowhere to go");
    NodeLoad sharedShard = node(a, 2, 1, 1, 1, List.of("3"), Set.of("3"));
    assertEquals(Set.of(), GpuPlacement.toMove(List.of(sharedShard, joined)), "a shard with a running job stays");
    NodeLoad leaving = new NodeLoad(c, false, 0, 4, 0, 0, 0, List.of(), Set.of());
    assertEquals(Set.of(), GpuPlacement.toMove(List.of(queue, leaving)), "not to a node that is leaving");
  }
}
