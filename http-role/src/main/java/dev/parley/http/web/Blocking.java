package dev.parley.http.web;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/**
 * Blocking work (JDBC, the blob store) off the routes' threads. A checked exception fails the future
 * with itself, wrapped only in the {@link CompletionException} that {@link ApiErrors} unwraps, so an
 * {@code SQLException} becomes the 503 of a database that is away.
 */
public final class Blocking {
  private Blocking() {}

  @FunctionalInterface
  public interface Work<T> {
    T run() throws Exception;
  }

  /** {@code work} on {@code executor}. */
  public static <T> CompletableFuture<T> supply(Work<T> work, Executor executor) {
    return CompletableFuture.supplyAsync(() -> get(work), executor);
  }

  /** {@code work}'s value here; a checked exception as a {@link CompletionException}, unchecked ones as they are. */
  public static <T> T get(Work<T> work) {
    try {
      return work.run();
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new CompletionException(e);
    }
  }
}
