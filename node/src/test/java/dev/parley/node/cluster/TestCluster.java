package dev.parley.node.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.parley.gpu.pipeline.Diarizer;
import dev.parley.node.NodeConfig;
import dev.parley.node.ParleyNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Several Parley nodes in one JVM on loopback, started through the same {@link ParleyNode} code
 * path as {@code java -jar parley.jar}, over one fresh PostgreSQL schema with the database blob
 * store. Short timeouts so crashes and idle leaves happen within seconds.
 */
final class TestCluster implements AutoCloseable, BeforeAllCallback, AfterAllCallback {
  final String jwtSecret = "cluster-test-secret-0123456789abcdef0123456789";
  private final String name;
  private final List<ParleyNode> nodes = new ArrayList<>();
  TestPostgres pg;
  private Path dataRoot;

  private TestCluster(String name) {
    this.name = name;
  }

  /** A cluster for one test: {@code try (TestCluster cluster = TestCluster.open("parley_x")) {...}}. */
  static TestCluster open(String name) {
    TestCluster c = new TestCluster(name);
    c.start();
    return c;
  }

  /**
   * A cluster for a whole test class, started before its {@code @BeforeAll} methods and closed after
   * its last test: {@code @RegisterExtension static final TestCluster cluster = TestCluster.perClass("parley_x");}
   */
  static TestCluster perClass(String name) {
    return new TestCluster(name);
  }

  private void start() {
    pg = TestPostgres.freshSchema(name);
    try {
      dataRoot = Files.createTempDirectory("parley-" + name);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    start();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    close();
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Settings every node shares; {@code extra} HOCON wins over them. */
  private Config config(String roles, int clusterPort, String seeds, int httpPort, String extra) {
    Path dataDir = dataRoot.resolve(roles.replace(",", "-") + "-" + clusterPort);
    String hocon = """
        parley {
          roles = "%s"
          host = "127.0.0.1"
          data-dir = "%s"
          cluster.port = %d
          cluster.seed-nodes = "%s"
          http.port = %d
          http.bind-host = "127.0.0.1"
          http.jwt-secret = "%s"
          db.url = "%s"
          db.user = "%s"
          db.pool-size = 4
          blob.store = postgres
          meeting.resend-interval = 300ms
          meeting.heartbeat-timeout = 4s
          meeting.retry-backoff = 200ms
          gpu.progress-interval = 300ms
          gpu.idle-timeout = 60s
          gpu.result-linger = 10s
        }
        pekko {
          loglevel = INFO
          cluster {
            jmx.multi-mbeans-in-same-jvm = on
            split-brain-resolver.stable-after = 2s
            # as in application.conf: room for stable-after + the minority's 2 s lease delay + the spread
            # between observers before the instability fallback downs everyone
            split-brain-resolver.down-all-when-unstable = 6s
            failure-detector.heartbeat-interval = 500ms
            failure-detector.acceptable-heartbeat-pause = 2s
            sharding.retry-interval = 300ms
          }
          coordinated-shutdown.phases.cluster-exiting.timeout = 5s
          # the worker proxy of an http node waits this long for messages buffered while no gpu node is up
          coordinated-shutdown.phases.cluster-sharding-shutdown-region.timeout = 3s
        }
        """.formatted(roles, dataDir.toString().replace("\\", "/"), clusterPort, seeds, httpPort, jwtSecret, pg.url(),
        TestPostgres.USER);
    return NodeConfig.load(ConfigFactory.parseString(extra).withFallback(ConfigFactory.parseString(hocon)));
  }

  /** A started node with the ports it was given. */
  record Node(ParleyNode node, int clusterPort, int httpPort) {
    String seed() {
      return "127.0.0.1:" + clusterPort;
    }

    boolean isUp() {
      return Cluster.get(node.system()).selfMember().status().equals(MemberStatus.up());
    }

    boolean terminated() {
      return node.system().getWhenTerminated().toCompletableFuture().isDone();
    }

    void awaitTerminated(Duration timeout) {
      try {
        node.system().getWhenTerminated().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        throw new AssertionError(node.settings().roles() + " node on " + clusterPort + " did not terminate within "
            + timeout, e);
      }
    }
  }

  /** An http node; {@code seeds} empty = it forms the cluster itself. */
  Node startHttp(String seeds, String extra) {
    int clusterPort = freePort();
    int httpPort = freePort();
    ParleyNode n = ParleyNode.start(config("http", clusterPort, seeds, httpPort, extra), false,
        parley -> { throw new AssertionError("an http node must not build a diarizer"); });
    nodes.add(n);
    return new Node(n, clusterPort, n.http().port());
  }

  Node startGpu(String seeds, Diarizer diarizer, String extra) {
    int clusterPort = freePort();
    int healthPort = freePort();
    ParleyNode n = ParleyNode.start(config("gpu", clusterPort, seeds, healthPort, extra), false, parley -> diarizer);
    nodes.add(n);
    return new Node(n, clusterPort, healthPort);
  }

  /** Waits until every node in {@code nodes} sees all of them Up. */
  static void awaitUp(Duration timeout, Node... members) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      boolean all = true;
      for (Node a : members) {
        long up = 0;
        for (var m : Cluster.get(a.node().system()).state().getMembers()) {
          if (m.status().equals(MemberStatus.up())) up++;
        }
        if (up < members.length) all = false;
      }
      if (all) return;
      sleep(100);
    }
    throw new AssertionError("cluster of " + members.length + " did not come up within " + timeout);
  }

  /** Whether {@code observer} has {@code node} among its members, in any status. */
  static boolean isMember(Node observer, Node node) {
    Address address = node.node().system().address();
    for (Member m : Cluster.get(observer.node().system()).state().getMembers()) {
      if (m.address().equals(address)) return true;
    }
    return false;
  }

  /** Whether {@code observer} sees {@code node} unreachable. */
  static boolean isUnreachable(Node observer, Node node) {
    Address address = node.node().system().address();
    for (Member m : Cluster.get(observer.node().system()).state().getUnreachable()) {
      if (m.address().equals(address)) return true;
    }
    return false;
  }

  static void awaitUnreachable(Node observer, Node node, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!isUnreachable(observer, node)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(node.clusterPort() + " not unreachable to " + observer.clusterPort() + " within " + timeout);
      }
      sleep(50);
    }
  }

  /** Waits until {@code observer} has removed every one of {@code nodes}; fails at once if it goes down itself. */
  static void awaitRemoved(Node observer, Duration timeout, Node... nodes) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      MemberStatus self = Cluster.get(observer.node().system()).selfMember().status();
      if (observer.terminated() || self.equals(MemberStatus.down()) || self.equals(MemberStatus.removed())) {
        throw new AssertionError("the node on " + observer.clusterPort() + " was downed (status " + self + ")");
      }
      if (Arrays.stream(nodes).noneMatch(n -> isMember(observer, n))) return;
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the node on " + observer.clusterPort() + " did not remove the others within " + timeout);
      }
      sleep(100);
    }
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  @Override
  public void close() {
    for (int i = nodes.size() - 1; i >= 0; i--) {
      ParleyNode n = nodes.get(i);
      try {
        n.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        System.err.println("node did not stop cleanly: " + e);
      }
    }
    nodes.clear();
    if (pg != null) pg.close();
    if (dataRoot == null) return;
    // the nodes' blob stores and scratch files; a file some node still holds open only stays behind
    try (var paths = Files.walk(dataRoot)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      System.err.println("could not remove " + dataRoot + ": " + e);
    }
  }
}
