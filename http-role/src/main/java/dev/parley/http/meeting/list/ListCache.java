package dev.parley.http.meeting.list;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * A short-lived cache of rendered list pages on one http node. Identical requests within {@code
 * ttl} share one database query (also while it is running), which is what keeps the list fast under
 * many concurrent clients. A user's own creates and deletes on this node drop the user's pages, so
 * they see their change at once (a query already running for them is not put back); changes made
 * elsewhere (status updates from the projection, uploads through another http node) show within
 * {@code ttl}. A failed query is not kept. A ttl of zero disables the cache.
 */
public final class ListCache {
  private record Key(String owner, int limit, String cursor) {}

  private final AsyncCache<Key, byte[]> pages;

  public ListCache(Duration ttl, int maxEntries) {
    pages = ttl.isZero() || ttl.isNegative() ? null
        : Caffeine.newBuilder().expireAfterWrite(ttl).maximumSize(maxEntries).buildAsync();
  }

  public CompletionStage<byte[]> get(String owner, int limit, String cursor, Supplier<CompletionStage<byte[]>> load) {
    if (pages == null) return load.get();
    try {
      return pages.get(new Key(owner, limit, cursor == null ? "" : cursor), (k, executor) -> load.get().toCompletableFuture());
    } catch (RuntimeException e) { // the load could not even start: this request fails, nothing is kept
      return CompletableFuture.failedFuture(e);
    }
  }

  /** The owner's next reads go to the database. */
  public void invalidate(String owner) {
    if (pages != null) pages.asMap().keySet().removeIf(k -> k.owner().equals(owner));
  }
}
