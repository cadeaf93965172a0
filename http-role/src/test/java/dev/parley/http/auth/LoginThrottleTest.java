package dev.parley.http.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** A security review guessed one account's password 30 times a second with nothing in the way. */
class LoginThrottleTest {
  @Test
  void anAccountWithTooManyFailuresWaitsUntilTheOldestLeavesTheWindow() {
    AtomicLong now = new AtomicLong();
    LoginThrottle t = new LoginThrottle(3, Duration.ofMinutes(5), now::get);
    for (int i = 0; i < 3; i++) {
      assertEquals(Duration.ZERO, t.wait("ada@example.com"));
      t.failed("ada@example.com");
      now.addAndGet(Duration.ofSeconds(10).toNanos());
    }
    assertEquals(Duration.ofSeconds(270), t.wait("ada@example.com"), "5 min after the first failure, 30 s ago");
    assertEquals(Duration.ZERO, t.wait("bob@example.com"), "other accounts are not held up");
    now.addAndGet(Duration.ofSeconds(270).toNanos());
    assertEquals(Duration.ZERO, t.wait("ada@example.com"), "the oldest failure has left the window");
    t.failed("ada@example.com");
    assertEquals(Duration.ofSeconds(10), t.wait("ada@example.com"));
    t.succeeded("ada@example.com");
    assertEquals(Duration.ZERO, t.wait("ada@example.com"), "a success clears the count");
  }
}
