package dev.parley.http.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** A security review guessed one account's password 30 times a second with nothing in the way. */
class LoginThrottleTest {
  static final String ADA = "ada@example.com";

  @Test
  void anAccountWithTooManyFailuresWaitsUntilTheOldestLeavesTheWindow() {
    AtomicLong now = new AtomicLong();
    LoginThrottle t = new LoginThrottle(3, Duration.ofMinutes(5), now::get);
    for (int i = 0; i < 3; i++) {
      LoginThrottle.Check c = t.begin(ADA);
      assertEquals(Duration.ZERO, c.refusedFor());
      c.failed();
      now.addAndGet(Duration.ofSeconds(10).toNanos());
    }
    assertEquals(Duration.ofSeconds(270), t.begin(ADA).refusedFor(), "5 min after the first failure, 30 s ago");
    assertEquals(Duration.ofSeconds(270), t.held(ADA));
    assertEquals(Duration.ZERO, t.begin("bob@example.com").refusedFor(), "other accounts are not held up");
    now.addAndGet(Duration.ofSeconds(270).toNanos());
    LoginThrottle.Check again = t.begin(ADA);
    assertEquals(Duration.ZERO, again.refusedFor(), "the oldest failure has left the window");
    again.failed();
    assertEquals(Duration.ofSeconds(10), t.begin(ADA).refusedFor());
    now.addAndGet(Duration.ofSeconds(10).toNanos());
    LoginThrottle.Check right = t.begin(ADA);
    right.succeeded();
    right.failed(); // only the first ending counts
    assertEquals(Duration.ZERO, t.held(ADA), "a success clears the count");
  }

  /** A second review sent 60 wrong passwords at once: all 60 were checked, since each passed before any had failed. */
  @Test
  void checksStillRunningCountAgainstTheLimit() {
    AtomicLong now = new AtomicLong();
    LoginThrottle t = new LoginThrottle(3, Duration.ofMinutes(5), now::get);
    List<LoginThrottle.Check> running = new ArrayList<>();
    for (int i = 0; i < 3; i++) running.add(t.begin(ADA));
    running.forEach(c -> assertEquals(Duration.ZERO, c.refusedFor()));
    LoginThrottle.Check fourth = t.begin(ADA);
    assertEquals(LoginThrottle.CHECKS_RUNNING, fourth.refusedFor(), "three checks are running: a fourth waits");
    fourth.failed(); // a refused check counts nothing
    running.get(0).close(); // undecided (the database was away): frees its place, counts nothing
    LoginThrottle.Check fifth = t.begin(ADA);
    assertEquals(Duration.ZERO, fifth.refusedFor());
    running.get(1).failed();
    running.get(2).failed();
    fifth.failed();
    assertEquals(Duration.ofMinutes(5), t.begin(ADA).refusedFor(), "three failures: held for the window");
  }
}
