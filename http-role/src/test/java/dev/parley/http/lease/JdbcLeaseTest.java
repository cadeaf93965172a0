package dev.parley.http.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import com.zaxxer.hikari.HikariDataSource;
import dev.parley.http.db.Database;
import dev.parley.http.db.Schema;
import dev.parley.http.testutil.Postgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.coordination.lease.javadsl.Lease;
import org.apache.pekko.coordination.lease.javadsl.LeaseProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@link JdbcLease} on the real PostgreSQL, created the way the split-brain resolver gets it
 * (Pekko's LeaseProvider with a config path), with short timings: heartbeat-timeout 2 s, renewal
 * every 200 ms. Every owner is its own JdbcLease with its own pool, as on separate nodes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JdbcLeaseTest {
  static final long TIMEOUT_MS = 2000;

  Postgres pg;
  HikariDataSource ds;
  ActorSystem system;

  @BeforeAll
  void start() {
    pg = Postgres.freshSchema();
    ds = Database.create(pg.db);
    Schema.migrate(pg.db);
    system = ActorSystem.create("lease-test", ConfigFactory.parseString("""
            parley {
              data-dir = "unused"
              db { url = "%s", user = "%s", password = "", pool-size = 2 }
              test-lease {
                lease-class = "dev.parley.http.lease.JdbcLease"
                heartbeat-timeout = %dms
                heartbeat-interval = 200ms
                lease-operation-timeout = 1s
              }
            }
            pekko.loglevel = WARNING
            """.formatted(pg.db.url(), pg.db.user(), TIMEOUT_MS))
        .withFallback(ConfigFactory.defaultReference()));
  }

  @AfterAll
  void stop() throws Exception {
    if (system != null) {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(20, TimeUnit.SECONDS);
    }
    if (ds != null) ds.close();
    if (pg != null) pg.close();
  }

  static String newName() {
    return "lease-" + UUID.randomUUID();
  }

  Lease lease(String name, String owner) {
    return LeaseProvider.get(system).getLease(name, "parley.test-lease", owner);
  }

  static <T> T await(CompletionStage<T> f) throws Exception {
    return f.toCompletableFuture().get(TIMEOUT_MS * 3, TimeUnit.MILLISECONDS);
  }

  /** The owner of the lease row, or null when there is none. */
  String ownerInDatabase(String name) throws SQLException {
    try (Connection c = ds.getConnection();
        var s = c.prepareStatement("SELECT owner FROM cluster_lease WHERE lease_name = ?")) {
      s.setString(1, name);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  void sql(String statement) throws SQLException {
    try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
      s.execute(statement);
    }
  }

  @Test
  void twoOwnersCannotBothHoldIt() throws Exception {
    String name = newName();
    Lease a = lease(name, "10.0.0.1:25520");
    Lease b = lease(name, "10.0.0.2:25520");
    // at once, as the two sides of a partition would ask
    CompletableFuture<Boolean> fa = a.acquire().toCompletableFuture();
    CompletableFuture<Boolean> fb = b.acquire().toCompletableFuture();
    boolean aHolds = await(fa);
    boolean bHolds = await(fb);
    assertTrue(aHolds ^ bHolds, "exactly one owner must get the lease: a=" + aHolds + ", b=" + bHolds);
    Lease winner = aHolds ? a : b;
    Lease loser = aHolds ? b : a;
    assertTrue(winner.checkLease());
    assertFalse(loser.checkLease());
    assertEquals(winner.getSettings().ownerName(), ownerInDatabase(name));

    // a live holder renews: asking again still gets false (at once when the holder's row outlasts
    // one heartbeat-timeout from now, else after waiting to see it renewed)
    assertFalse(await(loser.acquire()));
    assertTrue(winner.checkLease(), "the holder lost the lease while renewing");
    assertTrue(await(winner.release()));
  }

  /**
   * The losing side of a partition asks after acquire-lease-delay-for-minority and downs itself
   * only when the answer comes; the winner removes it after stable-after and recreates its shards
   * and singletons down-removal-margin (= stable-after, 7 s) later. Waiting for a live holder's row
   * to lapse (up to heartbeat-timeout, 8 s) kept the loser Up past that margin in a real partition
   * of two http processes; once the holder is seen renewing, the answer must be false at once.
   */
  @Test
  void aLiveHolderIsRefusedWithinAboutOneRenewal() throws Exception {
    String name = newName();
    Lease winner = lease(name, "10.0.0.1:25520");
    Lease loser = lease(name, "10.0.0.2:25520");
    assertTrue(await(winner.acquire()));
    for (int i = 0; i < 3; i++) {
      long t0 = System.nanoTime();
      assertFalse(await(loser.acquire()));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      // heartbeat-interval is 200 ms: the holder's renewal is seen after one or two looks
      assertTrue(ms < TIMEOUT_MS / 2, "the loser waited " + ms + " ms for a live holder's row to lapse");
      assertTrue(winner.checkLease());
      Thread.sleep(70 * i);
    }
    assertEquals("10.0.0.1:25520", ownerInDatabase(name));
    assertTrue(await(winner.release()));
  }

  @Test
  void aHeldLeaseIsRenewedPastItsTimeout() throws Exception {
    String name = newName();
    Lease a = lease(name, "10.0.0.1:25520");
    assertTrue(await(a.acquire()));
    Thread.sleep(TIMEOUT_MS * 2);
    assertTrue(a.checkLease(), "renewals stopped");
    try (Connection c = ds.getConnection(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT expires_at > now() FROM cluster_lease WHERE lease_name = '" + name + "'")) {
      assertTrue(rs.next() && rs.getBoolean(1), "the row expired although its holder is alive");
    }
    assertTrue(await(a.release()));
  }

  @Test
  void anExpiredLeaseIsTakenByAnotherOwner() throws Exception {
    String name = newName();
    // a holder that crashed: its row lapses in 700 ms and nobody renews it
    long t0 = System.nanoTime();
    sql("INSERT INTO cluster_lease VALUES ('" + name + "', '10.0.0.9:25520', now() + INTERVAL '700 milliseconds')");
    Lease b = lease(name, "10.0.0.2:25520");
    assertTrue(await(b.acquire()), "the lapsed lease of a crashed holder was not taken");
    long waitedMs = (System.nanoTime() - t0) / 1_000_000; // from before the row's now(): never early
    assertTrue(waitedMs >= 650 && waitedMs < TIMEOUT_MS + 700, "took it after " + waitedMs + " ms");
    assertTrue(b.checkLease());
    assertEquals("10.0.0.2:25520", ownerInDatabase(name));

    // one that already lapsed is taken at once
    String lapsed = newName();
    sql("INSERT INTO cluster_lease VALUES ('" + lapsed + "', '10.0.0.9:25520', now() - INTERVAL '1 second')");
    assertTrue(await(lease(lapsed, "10.0.0.2:25520").acquire()));
    assertEquals("10.0.0.2:25520", ownerInDatabase(lapsed));
    assertTrue(await(b.release()));
  }

  @Test
  void aLeaseThatOutlastsTheWaitIsNotTaken() throws Exception {
    String name = newName();
    sql("INSERT INTO cluster_lease VALUES ('" + name + "', '10.0.0.9:25520', now() + INTERVAL '1 minute')");
    Lease b = lease(name, "10.0.0.2:25520");
    long t0 = System.nanoTime();
    assertFalse(await(b.acquire()));
    // no point waiting for a row that outlives the wait: the answer comes at once
    assertTrue(System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS / 2));
    assertFalse(b.checkLease());
    assertEquals("10.0.0.9:25520", ownerInDatabase(name));
  }

  /**
   * The resolver keeps its lease for a while after a decision; a node that became leader since
   * must still get it for the next decision, or it would down its own side. A holder that this
   * node sees as a reachable member is on its side, so the lease passes at once; a holder it does
   * not see (the other side of a partition, or a crashed node) keeps it until its row lapses.
   */
  @Test
  void aLeaseHeldByAReachableMemberPassesAtOnceToAnotherMember() throws Exception {
    inCluster("http", "gpu", (n1, n2) -> {
      String name = newName();
      String owner1 = Cluster.get(n1).selfAddress().hostPort();
      String owner2 = Cluster.get(n2).selfAddress().hostPort();
      Lease previousLeader = LeaseProvider.get(n2).getLease(name, "parley.test-lease", owner2);
      Lease newLeader = LeaseProvider.get(n1).getLease(name, "parley.test-lease", owner1);
      assertTrue(await(previousLeader.acquire()));

      long t0 = System.nanoTime();
      assertTrue(await(newLeader.acquire()), "a lease held by a reachable member was refused");
      assertTrue(System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS / 2), "it waited for the row to lapse");
      assertEquals(owner1, ownerInDatabase(name));
      assertTrue(newLeader.checkLease());
      // the previous holder finds out at its next renewal, and does not take it back
      long lost = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
      while (previousLeader.checkLease() && System.nanoTime() < lost) Thread.sleep(20);
      assertFalse(previousLeader.checkLease());
      Thread.sleep(500);
      assertEquals(owner1, ownerInDatabase(name));

      // a holder that is no member of this cluster keeps it
      String foreign = newName();
      sql("INSERT INTO cluster_lease VALUES ('" + foreign + "', 'parley@10.0.0.9:25520', now() + INTERVAL '1 minute')");
      assertFalse(await(LeaseProvider.get(n1).getLease(foreign, "parley.test-lease", owner1).acquire()));
      assertEquals("parley@10.0.0.9:25520", ownerInDatabase(foreign));
      assertTrue(await(newLeader.release()));
    });
  }

  /**
   * A side of gpu nodes alone (the http nodes unreachable, or frozen) never takes the lease, so it
   * cannot down the http nodes: it is refused at once and the row stays as it was.
   */
  @Test
  void aSideWithoutAnHttpNodeIsRefusedTheLease() throws Exception {
    inCluster("gpu", "gpu", (g1, g2) -> {
      String name = newName();
      Lease gpuLeader = LeaseProvider.get(g1).getLease(name, "parley.test-lease", Cluster.get(g1).selfAddress().hostPort());
      assertFalse(await(gpuLeader.acquire()), "a side of gpu nodes took the lease");
      assertNull(ownerInDatabase(name));
      assertFalse(gpuLeader.checkLease());
    });
  }

  interface TwoNodes {
    void run(ActorSystem first, ActorSystem second) throws Exception;
  }

  /** Runs {@code test} in a cluster of two nodes with these roles, then stops both. */
  void inCluster(String firstRole, String secondRole, TwoNodes test) throws Exception {
    ActorSystem first = clusterNode(firstRole);
    ActorSystem second = clusterNode(secondRole);
    try {
      Cluster c1 = Cluster.get(first);
      c1.join(c1.selfAddress());
      Cluster.get(second).join(c1.selfAddress());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      // both views: a node asks for the lease by what it sees itself (CI once saw the second node ask
      // before it saw the first one Up)
      Cluster c2 = Cluster.get(second);
      while (c1.state().members().count(m -> m.status() == MemberStatus.up()) < 2
          || c2.state().members().count(m -> m.status() == MemberStatus.up()) < 2) {
        if (System.nanoTime() > deadline) throw new AssertionError("the two nodes did not form a cluster");
        Thread.sleep(50);
      }
      test.run(first, second);
    } finally {
      for (ActorSystem n : List.of(first, second)) n.terminate();
      for (ActorSystem n : List.of(first, second)) n.getWhenTerminated().toCompletableFuture().get(20, TimeUnit.SECONDS);
    }
  }

  ActorSystem clusterNode(String role) {
    return ActorSystem.create("parley", ConfigFactory.parseString("""
            pekko.actor.provider = cluster
            pekko.remote.artery.canonical.hostname = 127.0.0.1
            pekko.remote.artery.canonical.port = 0
            pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
            pekko.coordinated-shutdown.exit-jvm = off
            pekko.cluster.roles = [%s]
            """.formatted(role)).withFallback(system.settings().config()));
  }

  @Test
  void releaseFreesOnlyOurOwnLease() throws Exception {
    String name = newName();
    Lease a = lease(name, "10.0.0.1:25520");
    Lease b = lease(name, "10.0.0.2:25520");
    assertTrue(await(a.acquire()));
    // b does not hold it: its release leaves a's row alone (and says b holds nothing now)
    assertTrue(await(b.release()));
    assertEquals("10.0.0.1:25520", ownerInDatabase(name));
    assertTrue(a.checkLease());

    assertTrue(await(a.release()));
    assertFalse(a.checkLease());
    assertNull(ownerInDatabase(name));
    long t0 = System.nanoTime();
    assertTrue(await(b.acquire()), "a released lease must be free at once");
    assertTrue(System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS / 2));
    assertTrue(await(b.release()));
  }

  @Test
  void aHolderWhoseRowIsTakenLosesTheLease() throws Exception {
    String name = newName();
    Lease a = lease(name, "10.0.0.1:25520");
    AtomicReference<Optional<Throwable>> reason = new AtomicReference<>();
    CountDownLatch lost = new CountDownLatch(1);
    assertTrue(await(a.acquire(r -> {
      reason.set(r);
      lost.countDown();
    })));
    assertTrue(a.checkLease());

    sql("UPDATE cluster_lease SET owner = '10.0.0.66:25520', expires_at = now() + INTERVAL '1 minute' "
        + "WHERE lease_name = '" + name + "'");
    assertTrue(lost.await(TIMEOUT_MS, TimeUnit.MILLISECONDS), "the lease-lost callback did not run");
    assertFalse(a.checkLease());
    assertTrue(reason.get().isPresent());
    // and the thief's row stays: the loser's renewals do not touch it
    Thread.sleep(500);
    assertEquals("10.0.0.66:25520", ownerInDatabase(name));
  }

  /** A review: one failed statement (a dropped connection) made the deciding side fail its acquire, and down itself. */
  @Test
  void anAcquireOutlastsABriefDatabaseFailure() throws Exception {
    String name = newName();
    Lease a = lease(name, "10.0.0.1:25520");
    sql("ALTER TABLE cluster_lease RENAME TO cluster_lease_away");
    CompletionStage<Boolean> acquiring;
    try {
      acquiring = a.acquire();
      Thread.sleep(500); // two or three tries fail meanwhile
    } finally {
      sql("ALTER TABLE cluster_lease_away RENAME TO cluster_lease");
    }
    assertTrue(await(acquiring), "acquired once the database answers again, within the heartbeat-timeout");
    assertEquals("10.0.0.1:25520", ownerInDatabase(name));
    // a failure that outlasts the heartbeat-timeout still fails the acquire
    Lease b = lease(newName(), "10.0.0.2:25520");
    sql("ALTER TABLE cluster_lease RENAME TO cluster_lease_away");
    try {
      assertThrows(java.util.concurrent.ExecutionException.class, () -> await(b.acquire()));
    } finally {
      sql("ALTER TABLE cluster_lease_away RENAME TO cluster_lease");
    }
  }

  @Test
  void aHolderWhoseRenewalFailsLosesTheLease() throws Exception {
    String name = newName();
    Lease a = lease(name, "10.0.0.1:25520");
    AtomicReference<Optional<Throwable>> reason = new AtomicReference<>();
    CountDownLatch lost = new CountDownLatch(1);
    assertTrue(await(a.acquire(r -> {
      reason.set(r);
      lost.countDown();
    })));
    // the database stops answering the lease's statements
    sql("ALTER TABLE cluster_lease RENAME TO cluster_lease_away");
    try {
      assertTrue(lost.await(TIMEOUT_MS, TimeUnit.MILLISECONDS), "the lease-lost callback did not run");
      assertFalse(a.checkLease());
      assertTrue(reason.get().isPresent());
      assertTrue(reason.get().get().getMessage().contains("renew"), reason.get().get().toString());
    } finally {
      sql("ALTER TABLE cluster_lease_away RENAME TO cluster_lease");
    }
  }

  @Test
  void checkLeaseIsFalseUntilAcquiredAndAfterRelease() throws Exception {
    Lease a = lease(newName(), "10.0.0.1:25520");
    assertFalse(a.checkLease());
    assertTrue(await(a.acquire()));
    assertTrue(a.checkLease());
    // acquiring again while holding it keeps it
    assertTrue(await(a.acquire()));
    assertTrue(a.checkLease());
    assertTrue(await(a.release()));
    assertFalse(a.checkLease());
  }
}
