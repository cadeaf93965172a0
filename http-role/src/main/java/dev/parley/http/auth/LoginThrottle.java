package dev.parley.http.auth;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Failed logins per account on this node: after {@code maxFailures} within {@code window}, the
 * account's logins are refused (429) until the oldest of them leaves the window, without a bcrypt
 * check, so guessing a password runs at a few tries a minute instead of 30 a second. Unknown and
 * known emails count alike, so the refusal tells nothing about whether an account exists; a
 * successful login clears the count. Per node: n http nodes allow n times as many.
 */
final class LoginThrottle {
  private final int maxFailures;
  private final long windowNanos;
  private final LongSupplier clock;
  private final ConcurrentHashMap<String, Deque<Long>> failures = new ConcurrentHashMap<>();

  LoginThrottle(int maxFailures, Duration window, LongSupplier clock) {
    this.maxFailures = maxFailures;
    this.windowNanos = window.toNanos();
    this.clock = clock;
  }

  LoginThrottle(int maxFailures, Duration window) {
    this(maxFailures, window, System::nanoTime);
  }

  /** How long {@code email} must wait before its next try, or {@link Duration#ZERO} when it may try now. */
  Duration wait(String email) {
    Deque<Long> d = failures.get(email);
    if (d == null) return Duration.ZERO;
    synchronized (d) {
      long now = clock.getAsLong();
      while (!d.isEmpty() && now - d.peekFirst() >= windowNanos) d.pollFirst();
      if (d.size() < maxFailures) return Duration.ZERO;
      return Duration.ofNanos(windowNanos - (now - d.peekFirst()));
    }
  }

  void failed(String email) {
    if (failures.size() > 100_000) prune(); // bounded however many names are tried
    Deque<Long> d = failures.computeIfAbsent(email, k -> new ArrayDeque<>());
    synchronized (d) {
      d.addLast(clock.getAsLong());
      while (d.size() > maxFailures) d.pollFirst();
    }
  }

  void succeeded(String email) {
    failures.remove(email);
  }

  private void prune() {
    long now = clock.getAsLong();
    failures.entrySet().removeIf(e -> {
      synchronized (e.getValue()) {
        Long last = e.getValue().peekLast();
        return last == null || now - last >= windowNanos;
      }
    });
  }
}
