package dev.parley.http.meeting.list;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * A short-lived cache of rendered list pages on one http node. Identical requests within {@code
 * ttl} share one database query (also while it is running), which is what keeps the list fast under
 * many concurrent clients. A user's own creates and deletes on this node bump the user's generation,
 * so they see their change at once; changes made elsewhere (status updates from the projection,
 * uploads through another http node) show within {@code ttl}. A ttl of zero disables the cache.
 */
public final class ListCache {
  private record Key(String owner, long generation, int limit, String cursor) {}

  private record Entry(long expiresAt, CompletableFuture<byte[]> page) {}

  private final long ttlNanos;
  private final int maxEntries;
  private final ConcurrentHashMap<Key, Entry> entries = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Long> generations = new ConcurrentHashMap<>();

  public ListCache(Duration ttl, int maxEntries) {
    this.ttlNanos = ttl.toNanos();
    this.maxEntries = maxEntries;
  }

  public CompletionStage<byte[]> get(String owner, int limit, String cursor, Supplier<CompletionStage<byte[]>> load) {
    if (ttlNanos <= 0) return load.get();
    long now = System.nanoTime();
    Key key = new Key(owner, generations.getOrDefault(owner, 0L), limit, cursor == null ? "" : cursor);
    Entry e = entries.get(key);
    if (e != null && now - e.expiresAt() < 0 && !e.page().isCompletedExceptionally()) return e.page();
    CompletableFuture<byte[]> mine = new CompletableFuture<>();
    Entry fresh = new Entry(now + ttlNanos, mine);
    Entry winner = entries.compute(key, (k, old) ->
        old != null && now - old.expiresAt() < 0 && !old.page().isCompletedExceptionally() ? old : fresh);
    if (winner != fresh) return winner.page();
    if (entries.size() > maxEntries) sweep(now);
    load.get().whenComplete((page, err) -> {
      if (err != null) {
        entries.remove(key, fresh);
        mine.completeExceptionally(err);
      } else {
        mine.complete(page);
      }
    });
    return mine;
  }

  /** The owner's next reads go to the database. */
  public void invalidate(String owner) {
    generations.merge(owner, 1L, Long::sum);
  }

  private void sweep(long now) {
    entries.entrySet().removeIf(en -> now - en.getValue().expiresAt() >= 0);
    if (entries.size() > maxEntries) entries.clear();
    if (generations.size() > maxEntries * 4) generations.clear();
  }
}
