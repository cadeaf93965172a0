package dev.parley.http.auth;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Failed logins per account on this node: after {@code maxFailures} within {@code window}, the
 * account's logins are refused (429) until the oldest of them leaves the window, without a bcrypt
 * check, so guessing a password runs at a few tries a minute instead of 30 a second. A check counts
 * against the limit from the moment it {@linkplain #begin begins}, so requests sent all at once are
 * held back too, not only those that arrive after earlier checks have failed. Unknown and known
 * emails count alike, so the refusal tells nothing about whether an account exists; a successful
 * login clears the count. Per node: n http nodes allow n times as many.
 */
final class LoginThrottle {
  /** Retry-After for a request refused because the account's other checks are still running. */
  static final Duration CHECKS_RUNNING = Duration.ofSeconds(1);

  private final int maxFailures;
  private final long windowNanos;
  private final LongSupplier clock;
  private final ConcurrentHashMap<String, Account> accounts = new ConcurrentHashMap<>();

  /** Guarded by the map's lock on its key ({@link ConcurrentHashMap#compute}). */
  private static final class Account {
    final Deque<Long> failures = new ArrayDeque<>();
    int running;
  }

  LoginThrottle(int maxFailures, Duration window, LongSupplier clock) {
    this.maxFailures = maxFailures;
    this.windowNanos = window.toNanos();
    this.clock = clock;
  }

  LoginThrottle(int maxFailures, Duration window) {
    this(maxFailures, window, System::nanoTime);
  }

  /**
   * One password check of an account, counted against its limit from {@link #begin} until it ends:
   * {@link #failed} (a wrong password), {@link #succeeded} (the failures are cleared) or
   * {@link #close} without either (the check could not decide: the database was away). Only its
   * first ending counts; a refused check ({@link #refusedFor} not zero) counts nothing.
   */
  final class Check implements AutoCloseable {
    private final String email;
    private final Duration refusedFor;
    private boolean ended;

    private Check(String email, Duration refusedFor) {
      this.email = email;
      this.refusedFor = refusedFor;
      this.ended = !refusedFor.isZero();
    }

    String email() {
      return email;
    }

    /** {@link Duration#ZERO} when the check may go ahead, or how long to wait before the next try. */
    Duration refusedFor() {
      return refusedFor;
    }

    void failed() {
      end(a -> {
        a.failures.addLast(clock.getAsLong());
        while (a.failures.size() > maxFailures) a.failures.pollFirst();
      });
    }

    void succeeded() {
      end(a -> a.failures.clear());
    }

    @Override
    public void close() {
      end(a -> {});
    }

    private synchronized void end(Consumer<Account> outcome) {
      if (ended) return;
      ended = true;
      accounts.computeIfPresent(email, (k, a) -> {
        a.running--;
        outcome.accept(a);
        return keptIfInUse(a);
      });
    }
  }

  /** Starts a password check of {@code email}; see {@link Check#refusedFor} for whether it may go ahead. */
  Check begin(String email) {
    if (accounts.size() > 100_000) prune(); // bounded however many names are tried
    Duration[] wait = {Duration.ZERO};
    accounts.compute(email, (k, a) -> {
      Account account = a != null ? a : new Account();
      wait[0] = hold(account);
      if (wait[0].isZero()) {
        if (account.failures.size() + account.running >= maxFailures) wait[0] = CHECKS_RUNNING;
        else account.running++;
      }
      return keptIfInUse(account);
    });
    return new Check(email, wait[0]);
  }

  /** How long {@code email} must wait before its next try after its last failure, or {@link Duration#ZERO}. */
  Duration held(String email) {
    Duration[] wait = {Duration.ZERO};
    accounts.computeIfPresent(email, (k, a) -> {
      wait[0] = hold(a);
      return keptIfInUse(a);
    });
    return wait[0];
  }

  /**
   * Drops the failures that have left the window; then, with {@code maxFailures} left, how long
   * until the oldest leaves it too, else {@link Duration#ZERO}.
   */
  private Duration hold(Account a) {
    long now = clock.getAsLong();
    while (!a.failures.isEmpty() && now - a.failures.peekFirst() >= windowNanos) a.failures.pollFirst();
    return a.failures.size() >= maxFailures ? Duration.ofNanos(windowNanos - (now - a.failures.peekFirst())) : Duration.ZERO;
  }

  /** The account, or null (the map drops it) when it has no failure and no check running. */
  private static Account keptIfInUse(Account a) {
    return a.failures.isEmpty() && a.running == 0 ? null : a;
  }

  private void prune() {
    for (String email : accounts.keySet()) {
      accounts.computeIfPresent(email, (k, a) -> {
        hold(a);
        return keptIfInUse(a);
      });
    }
  }
}
