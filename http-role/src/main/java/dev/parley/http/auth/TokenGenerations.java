package dev.parley.http.auth;

import java.sql.SQLException;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.LongSupplier;

/**
 * Token revocation without a database round trip per request. Every user has a token generation
 * ({@code users.token_generation}, 0 at first) and every token carries the generation it was issued
 * in ({@link TokenService#GENERATION_CLAIM}). A password change or a logout adds one to the user's
 * generation, and a token of an older generation stops working: the user is signed out everywhere.
 *
 * <p>This is a cache of user id to current generation on one http node. An entry lives {@code ttl}
 * from when its load began; concurrent requests of one user share one load, and a failed load is not
 * kept (the next request tries again, and this one fails as its cause says: 503
 * {@code database_unavailable} when the database is away). The node that makes a change drops the
 * user's entry at once ({@link #invalidate}); other nodes see it when their entry expires, so an old
 * token works there for at most {@code ttl} after the change. A {@code ttl} of zero reads the
 * database on every request.
 *
 * <p>A token is accepted when its generation is at least the cached one ({@link #accepts}):
 * generations only grow, so a token newer than a node's entry (a login on another node after a
 * logout there) is simply ahead of a stale entry, not forged, and works at once everywhere.
 */
public final class TokenGenerations {
  /** What {@link Loader} answers for a user id without an account: no token of it is valid. */
  public static final long NO_SUCH_USER = -1;

  /** Reads a user's current generation; blocking. */
  @FunctionalInterface
  interface Loader {
    /** The generation, or {@link #NO_SUCH_USER}. */
    long load(String userId) throws SQLException;
  }

  private record Entry(long expiresAt, CompletableFuture<Long> generation) {}

  private final Loader loader;
  private final long ttlNanos;
  private final int maxEntries;
  private final Executor executor;
  private final LongSupplier clock;
  private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();

  /** Reads from the users table on {@code executor} (a blocking dispatcher, not the one bcrypt runs on). */
  public TokenGenerations(UserRepository users, Duration ttl, Executor executor) {
    this(userId -> {
      OptionalLong g = users.tokenGeneration(userId);
      return g.isPresent() ? g.getAsLong() : NO_SUCH_USER;
    }, ttl, 100_000, executor, System::nanoTime);
  }

  TokenGenerations(Loader loader, Duration ttl, int maxEntries, Executor executor, LongSupplier clock) {
    if (ttl.isNegative()) throw new IllegalArgumentException("the token generation cache ttl must not be negative");
    this.loader = loader;
    this.ttlNanos = ttl.toNanos();
    this.maxEntries = maxEntries;
    this.executor = executor;
    this.clock = clock;
  }

  /** Whether a token of {@code tokenGeneration} is still valid when the user's generation is {@code current}. */
  public static boolean accepts(long tokenGeneration, long current) {
    return current != NO_SUCH_USER && tokenGeneration >= current;
  }

  /**
   * The user's current generation: an already completed future when this node knows it (the common
   * case, no allocation), else one that completes when the database has answered.
   */
  public CompletableFuture<Long> current(String userId) {
    if (ttlNanos <= 0) return load(userId, new CompletableFuture<>(), null);
    long now = clock.getAsLong();
    Entry e = entries.get(userId);
    if (fresh(e, now)) return e.generation();
    Entry mine = new Entry(now + ttlNanos, new CompletableFuture<>());
    Entry winner = entries.compute(userId, (k, old) -> fresh(old, now) ? old : mine);
    if (winner != mine) return winner.generation();
    if (entries.size() > maxEntries) sweep(now);
    return load(userId, mine.generation(), mine);
  }

  /** Forgets the user's generation, so that this node's next request of theirs reads it: call after a change. */
  public void invalidate(String userId) {
    entries.remove(userId);
  }

  private CompletableFuture<Long> load(String userId, CompletableFuture<Long> result, Entry entry) {
    try {
      executor.execute(() -> {
        try {
          result.complete(loader.load(userId));
        } catch (SQLException | RuntimeException e) {
          fail(userId, entry, result, e);
        }
      });
    } catch (RejectedExecutionException e) { // the node is stopping
      fail(userId, entry, result, e);
    }
    return result;
  }

  private void fail(String userId, Entry entry, CompletableFuture<Long> result, Exception e) {
    if (entry != null) entries.remove(userId, entry);
    result.completeExceptionally(e);
  }

  private static boolean fresh(Entry e, long now) {
    return e != null && now - e.expiresAt() < 0 && !e.generation().isCompletedExceptionally();
  }

  private void sweep(long now) {
    entries.entrySet().removeIf(en -> now - en.getValue().expiresAt() >= 0);
    if (entries.size() > maxEntries) entries.clear();
  }

  /** Entries held now (for tests). */
  int size() {
    return entries.size();
  }
}
