package dev.parley.http.auth;

import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.parley.http.web.Blocking;
import java.sql.SQLException;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.LongSupplier;

/**
 * Token revocation without a database round trip per request. Every user has a token generation
 * ({@code users.token_generation}, 0 at first) and every token carries the generation it was issued
 * in ({@link TokenService#GENERATION_CLAIM}). A password change or a logout adds one to the user's
 * generation, and a token of an older generation stops working: the user is signed out everywhere.
 *
 * <p>This is a cache of user id to current generation on one http node (Caffeine). An entry lives
 * {@code ttl} from when its read finished; concurrent requests of one user share one read, and a
 * failed read is not kept (the next request tries again, and this one fails as its cause says: 503
 * {@code database_unavailable} when the database is away). The node that makes a change drops the
 * user's entry at once ({@link #invalidate}; a read already running is not put back); other nodes
 * see it when their entry expires, so an old token works there for at most {@code ttl} (plus one
 * database read) after the change. A {@code ttl} of zero reads the database on every request.
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

  private final Loader loader;
  private final Executor executor;
  private final AsyncLoadingCache<String, Long> cache;

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
    this.executor = executor;
    this.cache = ttl.isZero() ? null : Caffeine.newBuilder().expireAfterWrite(ttl).maximumSize(maxEntries)
        .executor(executor).ticker(clock::getAsLong).buildAsync(loader::load);
  }

  /** Whether a token of {@code tokenGeneration} is still valid when the user's generation is {@code current}. */
  public static boolean accepts(long tokenGeneration, long current) {
    return current != NO_SUCH_USER && tokenGeneration >= current;
  }

  /**
   * The user's current generation: an already completed future when this node knows it (the common
   * case), else one that completes when the database has answered.
   */
  public CompletableFuture<Long> current(String userId) {
    try {
      if (cache != null) return cache.get(userId);
      return Blocking.supply(() -> loader.load(userId), executor);
    } catch (RuntimeException e) { // the read could not start (the node is stopping): this request fails
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Forgets the user's generation, so that this node's next request of theirs reads it: call after a change. */
  public void invalidate(String userId) {
    if (cache != null) cache.synchronous().invalidate(userId);
  }

  /** Entries held now (for tests). */
  long size() {
    if (cache == null) return 0;
    cache.synchronous().cleanUp();
    return cache.synchronous().estimatedSize();
  }
}
