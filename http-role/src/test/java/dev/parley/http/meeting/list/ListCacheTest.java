package dev.parley.http.meeting.list;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class ListCacheTest {
  final AtomicInteger loads = new AtomicInteger();

  Supplier<CompletionStage<byte[]>> load(CompletableFuture<byte[]> f) {
    return () -> {
      loads.incrementAndGet();
      return f;
    };
  }

  Supplier<CompletionStage<byte[]>> value(String v) {
    return load(CompletableFuture.completedFuture(v.getBytes()));
  }

  @Test
  void concurrentIdenticalRequestsShareOneQuery() throws Exception {
    ListCache cache = new ListCache(Duration.ofSeconds(10), 100);
    CompletableFuture<byte[]> slow = new CompletableFuture<>();
    CompletionStage<byte[]> a = cache.get("u", 20, null, load(slow));
    CompletionStage<byte[]> b = cache.get("u", 20, null, value("other"));
    assertEquals(1, loads.get());
    slow.complete("page".getBytes());
    assertArrayEquals("page".getBytes(), a.toCompletableFuture().get());
    assertArrayEquals("page".getBytes(), b.toCompletableFuture().get());
    cache.get("u", 10, null, value("x"));
    cache.get("u", 20, "cursor", value("y"));
    cache.get("v", 20, null, value("z"));
    assertEquals(4, loads.get(), "limit, cursor and owner are part of the key");
  }

  @Test
  void invalidationAndExpiry() throws Exception {
    ListCache cache = new ListCache(Duration.ofMillis(200), 100);
    cache.get("u", 20, null, value("1"));
    assertArrayEquals("1".getBytes(), cache.get("u", 20, null, value("2")).toCompletableFuture().get());
    cache.invalidate("u");
    assertArrayEquals("3".getBytes(), cache.get("u", 20, null, value("3")).toCompletableFuture().get());
    Thread.sleep(250);
    assertArrayEquals("4".getBytes(), cache.get("u", 20, null, value("4")).toCompletableFuture().get());
  }

  @Test
  void failuresAreNotCachedAndZeroTtlDisables() throws Exception {
    ListCache cache = new ListCache(Duration.ofSeconds(10), 100);
    CompletionStage<byte[]> failed = cache.get("u", 20, null, load(CompletableFuture.failedFuture(new RuntimeException("db down"))));
    assertThrows(Exception.class, () -> failed.toCompletableFuture().get());
    assertArrayEquals("ok".getBytes(), cache.get("u", 20, null, value("ok")).toCompletableFuture().get());

    ListCache off = new ListCache(Duration.ZERO, 100);
    off.get("u", 20, null, value("a"));
    off.get("u", 20, null, value("b"));
    assertEquals(4, loads.get());
  }

  @Test
  void aLoadThatCannotStartFailsItsRequestOnly() throws Exception {
    ListCache cache = new ListCache(Duration.ofSeconds(10), 100);
    CompletionStage<byte[]> refused = cache.get("u", 20, null, () -> {
      throw new java.util.concurrent.RejectedExecutionException("the node is stopping");
    });
    assertThrows(Exception.class, () -> refused.toCompletableFuture().get(5, java.util.concurrent.TimeUnit.SECONDS));
    assertArrayEquals("ok".getBytes(), cache.get("u", 20, null, value("ok")).toCompletableFuture().get(5,
        java.util.concurrent.TimeUnit.SECONDS), "nothing was kept for the key");
  }

  @Test
  void boundedSize() throws Exception {
    ListCache cache = new ListCache(Duration.ofSeconds(10), 10);
    for (int i = 0; i < 100; i++) cache.get("u" + i, 20, null, value("p" + i));
    // still answers correctly after sweeping
    assertArrayEquals("p99".getBytes(), cache.get("u99", 20, null, value("new")).toCompletableFuture().get());
  }
}
