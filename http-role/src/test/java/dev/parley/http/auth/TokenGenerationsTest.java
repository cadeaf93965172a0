package dev.parley.http.auth;

import static org.apache.pekko.http.javadsl.server.Directives.handleExceptions;
import static org.apache.pekko.http.javadsl.server.Directives.handleRejections;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.parley.http.testutil.Api;
import dev.parley.http.web.ApiErrors;
import java.net.http.HttpRequest;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.server.Route;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The per-node cache behind the revocation check: what it keeps, for how long, and what a failed read does. */
class TokenGenerationsTest {
  final ExecutorService pool = Executors.newFixedThreadPool(4);
  final AtomicLong now = new AtomicLong(1_000_000_000L);
  /** The users table, as far as these tests go. */
  final AtomicLong stored = new AtomicLong(0);
  final AtomicInteger reads = new AtomicInteger();

  @AfterEach
  void stopPool() {
    pool.shutdownNow();
  }

  TokenGenerations cache(Duration ttl) {
    return new TokenGenerations(id -> {
      reads.incrementAndGet();
      return "ghost".equals(id) ? TokenGenerations.NO_SUCH_USER : stored.get();
    }, ttl, 1_000, pool, now::get);
  }

  static long get(CompletableFuture<Long> f) throws Exception {
    return f.get(5, TimeUnit.SECONDS);
  }

  @Test
  void onlyATokenOfTheCurrentGenerationOrNewerIsAccepted() {
    assertTrue(TokenGenerations.accepts(0, 0));
    assertTrue(TokenGenerations.accepts(3, 2), "ahead of a stale cache: generations only grow");
    assertFalse(TokenGenerations.accepts(0, 1));
    assertFalse(TokenGenerations.accepts(4, 5));
    assertFalse(TokenGenerations.accepts(0, TokenGenerations.NO_SUCH_USER));
    assertFalse(TokenGenerations.accepts(Long.MAX_VALUE, TokenGenerations.NO_SUCH_USER));
  }

  @Test
  void aUsersGenerationIsReadOncePerTtl() throws Exception {
    TokenGenerations g = cache(Duration.ofSeconds(5));
    assertEquals(0, get(g.current("u")));
    for (int i = 0; i < 100; i++) {
      CompletableFuture<Long> hit = g.current("u");
      assertTrue(hit.isDone(), "a hit is answered at once");
      assertEquals(0, hit.join());
    }
    assertEquals(1, reads.get(), "one database read for 101 requests");
    assertEquals(TokenGenerations.NO_SUCH_USER, get(g.current("ghost")));
    assertEquals(TokenGenerations.NO_SUCH_USER, get(g.current("ghost")));
    assertEquals(2, reads.get(), "an unknown user is remembered too");

    stored.set(1); // another node's change
    now.addAndGet(Duration.ofMillis(4_900).toNanos());
    assertEquals(0, get(g.current("u")), "still within the ttl");
    now.addAndGet(Duration.ofMillis(200).toNanos());
    assertEquals(1, get(g.current("u")), "read again once the ttl has passed");
    assertEquals(3, reads.get());
  }

  @Test
  void theChangingNodeSeesTheChangeAtOnceAndOthersWithinTheTtl() throws Exception {
    TokenGenerations here = cache(Duration.ofSeconds(5));
    TokenGenerations there = cache(Duration.ofSeconds(5));
    assertEquals(0, get(here.current("u")));
    assertEquals(0, get(there.current("u")));
    stored.incrementAndGet(); // a logout through "here"
    here.invalidate("u");
    assertEquals(1, get(here.current("u")));
    assertEquals(0, get(there.current("u")), "the other node has not looked yet");
    now.addAndGet(Duration.ofSeconds(5).toNanos());
    assertEquals(1, get(there.current("u")));
  }

  @Test
  void concurrentRequestsOfOneUserShareOneRead() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    TokenGenerations g = new TokenGenerations(id -> {
      reads.incrementAndGet();
      try {
        release.await(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return 7;
    }, Duration.ofSeconds(5), 1_000, pool, now::get);
    List<CompletableFuture<Long>> waiting = new ArrayList<>();
    for (int i = 0; i < 50; i++) waiting.add(g.current("u"));
    assertFalse(waiting.get(0).isDone());
    release.countDown();
    for (CompletableFuture<Long> f : waiting) assertEquals(7, get(f));
    assertEquals(1, reads.get());
  }

  @Test
  void aFailedReadFailsItsRequestsAndIsNotKept() throws Exception {
    AtomicInteger failures = new AtomicInteger(1);
    TokenGenerations g = new TokenGenerations(id -> {
      reads.incrementAndGet();
      if (failures.getAndDecrement() > 0) {
        throw new SQLTransientConnectionException("parley-db - Connection is not available, request timed out after 5000ms.");
      }
      return 2;
    }, Duration.ofSeconds(5), 1_000, pool, now::get);
    ExecutionException e = assertThrows(ExecutionException.class, () -> get(g.current("u")));
    assertTrue(e.getCause() instanceof SQLTransientConnectionException, e.toString());
    // Caffeine drops a failed read as it completes, on the reading thread, maybe just after the request woke
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (g.size() > 0 && System.nanoTime() < deadline) Thread.sleep(1);
    assertEquals(0, g.size(), "not kept");
    assertEquals(2, get(g.current("u")), "the next request reads again");
    assertEquals(2, reads.get());
  }

  @Test
  void aZeroTtlReadsEveryTime() throws Exception {
    TokenGenerations g = cache(Duration.ZERO);
    for (int i = 0; i < 3; i++) assertEquals(0, get(g.current("u")));
    assertEquals(3, reads.get());
    assertEquals(0, g.size());
    assertThrows(IllegalArgumentException.class, () -> cache(Duration.ofSeconds(-1)));
  }

  @Test
  void theCacheStaysBounded() throws Exception {
    TokenGenerations g = new TokenGenerations(id -> 0, Duration.ofSeconds(5), 100, pool, now::get);
    for (int i = 0; i < 1_000; i++) get(g.current("user-" + i));
    assertTrue(g.size() <= 101, "size " + g.size());
  }

  @Test
  void aStoppingNodesRefusedReadFailsTheRequestNotTheCaller() {
    ExecutorService stopped = Executors.newSingleThreadExecutor();
    stopped.shutdown();
    TokenGenerations g = new TokenGenerations(id -> 0, Duration.ofSeconds(5), 100, stopped, now::get);
    CompletableFuture<Long> f = g.current("u");
    assertTrue(f.isCompletedExceptionally());
    assertEquals(0, g.size());
  }

  /**
   * With the database away, an authenticated request whose user is not cached is a 503
   * database_unavailable with Retry-After, as every other route answers then: never a 500, and not a
   * 401 (the token is not the problem, and a client that drops it would log its user out).
   */
  @Test
  void aDatabaseOutageDuringTheCheckIs503() throws Exception {
    HikariConfig c = new HikariConfig();
    c.setJdbcUrl("jdbc:postgresql://127.0.0.1:1/nothing-listens-here");
    c.setConnectionTimeout(250);
    c.setInitializationFailTimeout(-1);
    c.setMaximumPoolSize(2);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "revocation-outage",
        ConfigFactory.parseString("pekko.loglevel = WARNING"));
    try (HikariDataSource down = new HikariDataSource(c)) {
      UserRepository users = new UserRepository(down);
      TokenService tokens = new TokenService(AuthTest.SECRET, Duration.ofHours(1));
      AuthRoutes auth = new AuthRoutes(users, new PasswordHasher(4), tokens,
          new TokenGenerations(users, Duration.ofSeconds(5), pool), pool, 64 * 1024, 10, Duration.ofMinutes(5));
      Route routes = handleExceptions(ApiErrors.exceptionHandler(),
          () -> handleRejections(ApiErrors.rejectionHandler(), auth::routes));
      ServerBinding binding = Http.get(system).newServerAt("127.0.0.1", 0).bind(routes)
          .toCompletableFuture().get(10, TimeUnit.SECONDS);
      Api api = new Api("http://127.0.0.1:" + binding.localAddress().getPort());
      String token = tokens.issue("user-1", "a@example.com", 0).token();
      List<Future<Api.Res>> all = new ArrayList<>();
      ExecutorService clients = Executors.newFixedThreadPool(8);
      try {
        for (int i = 0; i < 16; i++) all.add(clients.submit(() -> api.get("/auth/me", token)));
        for (Future<Api.Res> f : all) {
          Api.Res r = f.get(30, TimeUnit.SECONDS);
          assertEquals(503, r.status(), r.text());
          assertEquals("database_unavailable", r.json().get("error").asText(), r.text());
          assertEquals("5", r.header("Retry-After"));
        }
        Api.Res logout = api.send(api.req("/auth/logout", token).POST(HttpRequest.BodyPublishers.noBody()).build());
        assertEquals(503, logout.status(), logout.text());
      } finally {
        clients.shutdownNow();
        binding.unbind();
      }
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aHitNeedsNoDatabase() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    TokenGenerations g = new TokenGenerations(id -> {
      if (calls.incrementAndGet() > 1) throw new SQLTransientConnectionException("down");
      return 4;
    }, Duration.ofSeconds(5), 100, pool, now::get);
    CompletableFuture<Long> first = g.current("u");
    assertEquals(4, get(first));
    assertSame(first, g.current("u"), "the same answer, no new read");
    assertEquals(1, calls.get());
  }
}
