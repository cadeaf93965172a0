package dev.parley.http.lease;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.parley.http.db.Database;
import dev.parley.http.db.DbSettings;
import dev.parley.protocol.cluster.Members;
import dev.parley.protocol.worker.InferenceProtocol;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.coordination.lease.LeaseException;
import org.apache.pekko.coordination.lease.LeaseSettings;
import org.apache.pekko.coordination.lease.LeaseTimeoutException;
import org.apache.pekko.coordination.lease.javadsl.Lease;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.concurrent.ExecutionContextExecutor;

/**
 * The split-brain resolver's lease ({@code lease-majority}) as a row of {@code cluster_lease} in
 * Parley's PostgreSQL database, the arbiter both sides of a partition (or the survivor of a crash)
 * can see. Pekko creates it through {@code LeaseProvider} with the {@code parley.cluster.lease}
 * settings; the owner is the node's {@code host:port}.
 *
 * <ul>
 *   <li>acquire: one atomic upsert takes the row when it is free, expired or already ours. Expiry is
 *       {@code now() + heartbeat-timeout} on the database clock, so skewed node clocks do not matter.
 *       When another owner holds it and is a member this node sees as up and reachable
 *       ({@link #onThisSide}), the lease passes to this node at once. Otherwise acquire waits for
 *       the row to lapse, for at most one heartbeat-timeout (the longest a crashed holder can keep
 *       it), so a survivor asking shortly after the holder died still wins; it looks again every
 *       heartbeat-interval, and once it sees the holder renew its row (alive, on the other side)
 *       the answer is false at once, so the losing side of a partition downs itself before the
 *       winner takes over its shards and singletons (down-removal-margin after the removal).
 *   <li>while held, a renewal every heartbeat-interval pushes the expiry on, only while the row is
 *       still ours and unexpired. A renewal that fails or finds the row gone or taken loses the lease:
 *       {@link #checkLease()} turns false and the lease-lost callback runs.
 *   <li>{@link #checkLease()} is also false once a heartbeat-timeout has passed since the last
 *       confirmed renewal was sent, so this node never believes in the lease longer than the row lasts.
 *   <li>release deletes the row only where it is ours.
 * </ul>
 *
 * <p>Every statement runs on the lease's own dispatcher ({@value #DISPATCHER}) and connection pool,
 * so it never waits behind uploads or list queries, and never blocks the default dispatcher; each
 * operation fails after lease-operation-timeout.
 */
public final class JdbcLease extends Lease {
  private static final Logger log = LoggerFactory.getLogger(JdbcLease.class);

  /** Two threads: renewal and one acquire or release at a time. */
  public static final String DISPATCHER = "parley-lease-dispatcher";

  // the row is ours afterwards iff one row was inserted or updated
  private static final String TAKE = """
      INSERT INTO cluster_lease AS l (lease_name, owner, expires_at)
      VALUES (?, ?, now() + ? * INTERVAL '1 millisecond')
      ON CONFLICT (lease_name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
      WHERE l.owner = EXCLUDED.owner OR l.expires_at < now()""";
  private static final String HOLDER = """
      SELECT owner, CAST(EXTRACT(EPOCH FROM (expires_at - now())) * 1000 AS BIGINT),
             CAST(EXTRACT(EPOCH FROM expires_at) * 1000 AS BIGINT)
      FROM cluster_lease WHERE lease_name = ?""";
  private static final String RENEW = """
      UPDATE cluster_lease SET expires_at = now() + ? * INTERVAL '1 millisecond'
      WHERE lease_name = ? AND owner = ? AND expires_at >= now()""";
  private static final String RELEASE = "DELETE FROM cluster_lease WHERE lease_name = ? AND owner = ?";
  private static final String TAKE_OVER = """
      UPDATE cluster_lease SET owner = ?, expires_at = now() + ? * INTERVAL '1 millisecond'
      WHERE lease_name = ? AND owner = ?""";

  private final LeaseSettings settings;
  private final HikariDataSource pool;
  private final ExtendedActorSystem system;
  private final ExecutionContextExecutor executor;
  private final long timeoutMs;
  private final Duration interval;
  private final Duration operationTimeout;

  // guarded by this
  private boolean held;
  private long validUntilNanos;
  private long generation; // bumped by every acquire, loss and release: stale renewals are ignored
  private Consumer<Optional<Throwable>> onLost;
  private Cancellable renewal;

  /** Called by Pekko's {@code LeaseProvider}. */
  public JdbcLease(LeaseSettings settings, ExtendedActorSystem system) {
    this.settings = settings;
    this.system = system;
    this.timeoutMs = settings.timeoutSettings().getHeartbeatTimeout().toMillis();
    this.interval = settings.timeoutSettings().getHeartbeatInterval();
    this.operationTimeout = settings.timeoutSettings().getOperationTimeout();
    if (interval.toMillis() * 2 >= timeoutMs || operationTimeout.toMillis() >= timeoutMs) { // Pekko's rule too
      throw new IllegalArgumentException("lease " + settings.leaseName() + ": heartbeat-interval (" + interval
          + ") must be less than half of heartbeat-timeout (" + timeoutMs + " ms), and lease-operation-timeout ("
          + operationTimeout + ") below it");
    }
    DbSettings db = DbSettings.fromConfig(system.settings().config().getConfig("parley"));
    if (!db.isPostgres()) {
      throw new IllegalArgumentException("the split-brain resolver lease (lease-majority) needs PostgreSQL "
          + "(PARLEY_DB_URL=jdbc:postgresql://...), got " + db.safeUrl());
    }
    this.pool = pool(db, operationTimeout);
    this.executor = system.dispatchers().lookup(DISPATCHER);
    system.registerOnTermination(this::close);
    log.info("lease {} for {} on {}: heartbeat-timeout {} ms, interval {} ms, operation timeout {} ms",
        settings.leaseName(), settings.ownerName(), db.safeUrl(), timeoutMs, interval.toMillis(),
        operationTimeout.toMillis());
  }

  /** A small pool of its own: lease statements never queue behind the node's other database work. */
  private static HikariDataSource pool(DbSettings db, Duration operationTimeout) {
    HikariConfig c = Database.config(db, "parley-lease", 2);
    c.setMinimumIdle(0);
    c.setConnectionTimeout(Math.max(250, operationTimeout.toMillis()));
    c.setValidationTimeout(Math.max(250, operationTimeout.toMillis() / 2));
    // a statement on a connection whose server went silent gives up instead of hanging a thread
    long seconds = Math.max(1, (operationTimeout.toMillis() + 999) / 1000);
    c.addDataSourceProperty("connectTimeout", seconds);
    c.addDataSourceProperty("socketTimeout", seconds + 1);
    return new HikariDataSource(c);
  }

  @Override
  public LeaseSettings getSettings() {
    return settings;
  }

  @Override
  public CompletionStage<Boolean> acquire() {
    return acquire(lost -> {});
  }

  @Override
  public CompletionStage<Boolean> acquire(Consumer<Optional<Throwable>> leaseLostCallback) {
    if (!httpNodeOnThisSide()) {
      log.warn("lease {} not acquired by {}: no http node is up and reachable on its side, and gpu nodes alone serve"
          + " nothing; this side downs itself", settings.leaseName(), settings.ownerName());
      return CompletableFuture.completedFuture(false);
    }
    CompletableFuture<Boolean> result = new CompletableFuture<>();
    attempt(result, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs), leaseLostCallback);
    return result;
  }

  /** {@code expiresAtMs}: the holder's row expiry on the database clock (epoch ms), to see it renewed. */
  private record Attempt(boolean taken, long sentNanos, String holder, long remainingMs, long expiresAtMs) {}

  private void attempt(CompletableFuture<Boolean> result, long deadline, Consumer<Optional<Throwable>> callback) {
    attempt(result, deadline, callback, null);
  }

  private void attempt(CompletableFuture<Boolean> result, long deadline, Consumer<Optional<Throwable>> callback,
      Attempt previous) {
    call(this::tryTake).whenComplete((a, error) -> {
      if (error != null) {
        // one dropped connection must not cost this side the decision: try again while there is time
        // (taking is idempotent for its owner, so a take whose answer was lost is taken again)
        if (System.nanoTime() + interval.toNanos() < deadline) {
          log.warn("lease {}: acquiring failed ({}); trying again in {} ms", settings.leaseName(), error.toString(),
              interval.toMillis());
          retryLater(result, deadline, callback, previous, interval.toNanos());
        } else {
          result.completeExceptionally(leaseException("acquire", error));
        }
      } else if (a.taken()) {
        hold(a.sentNanos(), callback);
        log.info("lease {} acquired by {}", settings.leaseName(), settings.ownerName());
        result.complete(true);
      } else if (previous != null && previous.holder() != null && a.holder() != null
          && (!a.holder().equals(previous.holder()) || a.expiresAtMs() > previous.expiresAtMs())) {
        // the holder renewed its row since we last looked (or another owner took it): it is alive,
        // on the other side. Say no now: the side that holds the lease downs this side after
        // stable-after and takes over its shards and singletons down-removal-margin (stable-after)
        // after that, so this side must down itself well before, not a whole heartbeat-timeout later.
        log.info("lease {} not acquired by {}: held by {}, which renewed it (alive)", settings.leaseName(),
            settings.ownerName(), a.holder());
        result.complete(false);
      } else {
        // held by another owner: wait until its row lapses, as long as that is before the deadline,
        // looking again every heartbeat-interval to see whether the holder is alive and renewing
        long lapse = TimeUnit.MILLISECONDS.toNanos(Math.max(10, a.remainingMs() + 20));
        if (System.nanoTime() + lapse > deadline) {
          log.info("lease {} not acquired by {}: held by {} for {} ms more", settings.leaseName(),
              settings.ownerName(), a.holder(), a.remainingMs());
          result.complete(false);
        } else {
          retryLater(result, deadline, callback, a, Math.min(lapse, interval.toNanos()));
        }
      }
    });
  }

  private void retryLater(CompletableFuture<Boolean> result, long deadline, Consumer<Optional<Throwable>> callback,
      Attempt previous, long waitNanos) {
    try {
      system.scheduler().scheduleOnce(Duration.ofNanos(waitNanos), () -> attempt(result, deadline, callback, previous),
          executor);
    } catch (IllegalStateException stopped) { // the actor system is terminating
      result.completeExceptionally(leaseException("acquire", stopped));
    }
  }

  private Attempt tryTake(Connection c) throws SQLException {
    long sent = System.nanoTime();
    try (PreparedStatement take = statement(c, TAKE)) {
      take.setString(1, settings.leaseName());
      take.setString(2, settings.ownerName());
      take.setLong(3, timeoutMs);
      if (take.executeUpdate() == 1) return new Attempt(true, sent, settings.ownerName(), timeoutMs, 0);
    }
    Attempt held;
    try (PreparedStatement holder = statement(c, HOLDER)) {
      holder.setString(1, settings.leaseName());
      try (ResultSet rs = holder.executeQuery()) {
        // a row gone in between was released: try again at once
        held = rs.next()
            ? new Attempt(false, sent, rs.getString(1), rs.getLong(2), rs.getLong(3))
            : new Attempt(false, sent, null, 0, 0);
      }
    }
    if (held.holder() == null || !onThisSide(held.holder())) return held;
    try (PreparedStatement takeOver = statement(c, TAKE_OVER)) {
      takeOver.setString(1, settings.ownerName());
      takeOver.setLong(2, timeoutMs);
      takeOver.setString(3, settings.leaseName());
      takeOver.setString(4, held.holder());
      if (takeOver.executeUpdate() != 1) return held;
    }
    log.info("lease {} taken over by {} from {}, a reachable member on this side", settings.leaseName(),
        settings.ownerName(), held.holder());
    return new Attempt(true, sent, settings.ownerName(), timeoutMs, 0);
  }

  /**
   * Whether this node, or a member it sees as up and reachable, has the http role. A side of gpu
   * nodes alone never takes the lease: they would down the http nodes (one frozen for 20 s by a
   * stalled VM, say) and then serve nothing, and the API would stay down until a restart. Refused,
   * the resolver downs the gpu side instead; its nodes exit and restart into the http nodes' cluster.
   */
  private boolean httpNodeOnThisSide() {
    if (!isClusterProvider()) return true;
    return Members.hasReachable(Cluster.get(system).state(), InferenceProtocol.HTTP_ROLE);
  }

  private boolean isClusterProvider() {
    return system.settings().ProviderClass().equals("org.apache.pekko.cluster.ClusterActorRefProvider");
  }

  /**
   * Whether {@code owner} is a member this node sees as up and reachable: then it is on this side
   * of any partition, and taking the lease from it arbitrates nothing away. The resolver keeps a
   * lease for 40 s after the nodes it downed are gone; without this, a node that became leader in
   * that time (a gpu node with a lower address joined) would be refused the lease for its next
   * decision, say, a crashed gpu node, and down its own side, the whole service with it.
   */
  private boolean onThisSide(String owner) {
    if (!isClusterProvider()) return false;
    return Members.findReachable(Cluster.get(system).state(), owner).map(Members::isServing).orElse(false);
  }

  private synchronized void hold(long sentNanos, Consumer<Optional<Throwable>> callback) {
    generation++;
    held = true;
    validUntilNanos = sentNanos + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    onLost = callback;
    scheduleRenewal(generation);
  }

  // guarded by this
  private void scheduleRenewal(long gen) {
    if (renewal != null) renewal.cancel();
    renewal = system.scheduler().scheduleOnce(interval, () -> renew(gen), executor);
  }

  private void renew(long gen) {
    synchronized (this) {
      if (gen != generation) return;
    }
    long sent = System.nanoTime();
    call(c -> {
      try (PreparedStatement renew = statement(c, RENEW)) {
        renew.setLong(1, timeoutMs);
        renew.setString(2, settings.leaseName());
        renew.setString(3, settings.ownerName());
        return renew.executeUpdate() == 1;
      }
    }).whenComplete((renewed, error) -> {
      Consumer<Optional<Throwable>> callback;
      boolean takenOver;
      synchronized (this) {
        if (gen != generation) return; // released or acquired again meanwhile
        if (error == null && renewed) {
          validUntilNanos = sent + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
          scheduleRenewal(gen);
          return;
        }
        // the row cannot have expired while our own margin runs, so another owner took it over:
        // only a member that sees this node up and reachable does that (onThisSide)
        takenOver = error == null && System.nanoTime() - validUntilNanos < 0;
        callback = onLost;
        forget();
      }
      Throwable reason = error != null
          ? leaseException("renew", error)
          : new LeaseException("lease " + settings.leaseName() + " of " + settings.ownerName()
              + " is no longer ours: " + (takenOver ? "a member on this side took it over" : "it expired"));
      if (takenOver) log.info("lease {} passed on by {}: {}", settings.leaseName(), settings.ownerName(), reason.getMessage());
      else log.warn("lease {} lost by {}: {}", settings.leaseName(), settings.ownerName(), reason.getMessage());
      if (callback != null) executor.execute(() -> callback.accept(Optional.of(reason)));
    });
  }

  // guarded by this
  private void forget() {
    generation++;
    held = false;
    onLost = null;
    if (renewal != null) renewal.cancel();
    renewal = null;
  }

  @Override
  public synchronized boolean checkLease() {
    return held && System.nanoTime() - validUntilNanos < 0;
  }

  /** Completes with true once the row is not ours (deleted now, or held by someone else already). */
  @Override
  public CompletionStage<Boolean> release() {
    synchronized (this) {
      forget();
    }
    return failingAsLease(c -> {
      try (PreparedStatement release = statement(c, RELEASE)) {
        release.setString(1, settings.leaseName());
        release.setString(2, settings.ownerName());
        if (release.executeUpdate() == 1) log.info("lease {} released by {}", settings.leaseName(), settings.ownerName());
        return true;
      }
    }, "release");
  }

  @FunctionalInterface
  private interface Sql<T> {
    T apply(Connection c) throws SQLException;
  }

  /** {@link #call} whose failure is a {@link LeaseException}, as Pekko expects of acquire and release. */
  private <T> CompletableFuture<T> failingAsLease(Sql<T> sql, String operation) {
    CompletableFuture<T> result = new CompletableFuture<>();
    call(sql).whenComplete((value, error) -> {
      if (error != null) result.completeExceptionally(leaseException(operation, error));
      else result.complete(value);
    });
    return result;
  }

  /** Runs {@code sql} on the lease dispatcher; fails after lease-operation-timeout. */
  private <T> CompletableFuture<T> call(Sql<T> sql) {
    return CompletableFuture.supplyAsync(() -> {
      try (Connection c = pool.getConnection()) {
        return sql.apply(c);
      } catch (SQLException e) {
        throw new CompletionException(e);
      }
    }, executor).orTimeout(operationTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private PreparedStatement statement(Connection c, String sql) throws SQLException {
    PreparedStatement s = c.prepareStatement(sql);
    s.setQueryTimeout((int) Math.max(1, (operationTimeout.toMillis() + 999) / 1000));
    return s;
  }

  private LeaseException leaseException(String operation, Throwable error) {
    Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    String what = "lease " + settings.leaseName() + ": " + operation + " by " + settings.ownerName();
    LeaseException e = cause instanceof TimeoutException
        ? new LeaseTimeoutException(what + " timed out after " + operationTimeout)
        : new LeaseException(what + " failed: " + cause);
    e.initCause(cause);
    return e;
  }

  private void close() {
    synchronized (this) {
      forget();
    }
    pool.close();
  }
}
