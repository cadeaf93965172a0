package dev.parley.gpu.pipeline;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Coarse-grained parallelism for the pipeline's stages: a few independent pieces of work (groups
 * of VAD streams, blocks of windows) run on a shared pool of daemon threads, each piece running
 * libtorch single-threaded. This uses the cores without libtorch's fine-grained intra-op threads,
 * which cost far more than they gain on the pipeline's small ops.
 */
public final class Parallel {
  private static final AtomicInteger IDS = new AtomicInteger();
  private static final ExecutorService POOL = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "parley-pipeline-" + IDS.incrementAndGet());
    t.setDaemon(true);
    return t;
  });

  private Parallel() {}

  /**
   * Sets libtorch's intra-op thread count to 1 for the process unless
   * {@code ai.djl.pytorch.num_threads} says otherwise: the pipeline's ops are small and libtorch's
   * OpenMP threads cost more than they gain (10–30× slower Silero VAD when other processes share
   * the cores); the pipeline spreads its own work over threads instead.
   */
  public static void singleThreadedTorch() {
    if (System.getProperty("ai.djl.pytorch.num_threads") != null) return;
    Engine.getEngine("PyTorch");
    if (JniUtils.getNumThreads() != 1) JniUtils.setNumThreads(1);
  }

  /** Worker threads for {@code requested} (0 or less: one per available processor). */
  public static int threads(int requested) {
    return requested > 0 ? requested : Runtime.getRuntime().availableProcessors();
  }

  /** A piece of work that may fail with a checked exception. */
  @FunctionalInterface
  public interface Task<T> {
    T call() throws Exception;
  }

  /**
   * Runs the tasks (the first on the calling thread) and returns their results in order; the
   * first failure (an {@link Error} as it is) is rethrown after all have finished. When the calling
   * thread is interrupted (its job was cancelled), the other tasks are interrupted too and waited
   * for before the interrupt is rethrown, so no work of the job outlives it; a task that loops
   * should stop at {@link #checkInterrupted}.
   */
  public static <T> List<T> run(List<Task<T>> tasks) throws Exception {
    CountDownLatch others = new CountDownLatch(Math.max(0, tasks.size() - 1));
    List<Future<T>> futures = new ArrayList<>();
    // a task claims its start; one that the interrupt path claims first never runs, and is counted there
    List<AtomicBoolean> claimed = new ArrayList<>();
    for (int i = 1; i < tasks.size(); i++) {
      Task<T> t = tasks.get(i);
      AtomicBoolean start = new AtomicBoolean();
      claimed.add(start);
      Callable<T> c = () -> {
        if (!start.compareAndSet(false, true)) return null;
        try {
          return t.call();
        } finally {
          others.countDown();
        }
      };
      futures.add(POOL.submit(c));
    }
    List<T> out = new ArrayList<>();
    Throwable first = null;
    try {
      if (!tasks.isEmpty()) {
        try {
          out.add(tasks.get(0).call());
        } catch (InterruptedException e) {
          throw e;
        } catch (Exception | Error e) {
          first = e;
          out.add(null);
        }
      }
      for (Future<T> f : futures) {
        try {
          out.add(f.get());
        } catch (ExecutionException e) {
          if (first == null) first = e.getCause();
          out.add(null);
        }
      }
    } catch (InterruptedException e) {
      for (AtomicBoolean start : claimed) {
        if (start.compareAndSet(false, true)) others.countDown(); // not started: it never will
      }
      for (Future<T> g : futures) g.cancel(true); // interrupts the ones that run
      while (true) {
        try {
          others.await();
          break;
        } catch (InterruptedException again) {
          // a second cancel: the tasks are stopping already
        }
      }
      Thread.currentThread().interrupt();
      throw e;
    }
    if (first instanceof Exception x) throw x;
    if (first instanceof Error err) throw err;
    if (first != null) throw new RuntimeException(first);
    return out;
  }

  /** For a task's loop: stops it once its job was cancelled (its thread interrupted). */
  public static void checkInterrupted() throws InterruptedException {
    if (Thread.currentThread().isInterrupted()) throw new InterruptedException("the job was cancelled");
  }
}
