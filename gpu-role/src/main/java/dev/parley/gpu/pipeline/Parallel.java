package dev.parley.gpu.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
    ai.djl.engine.Engine.getEngine("PyTorch");
    if (ai.djl.pytorch.jni.JniUtils.getNumThreads() != 1) ai.djl.pytorch.jni.JniUtils.setNumThreads(1);
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
   * first failure is rethrown after all have finished.
   */
  public static <T> List<T> run(List<Task<T>> tasks) throws Exception {
    List<Future<T>> futures = new ArrayList<>();
    for (int i = 1; i < tasks.size(); i++) {
      Task<T> t = tasks.get(i);
      Callable<T> c = t::call;
      futures.add(POOL.submit(c));
    }
    List<T> out = new ArrayList<>();
    Exception first = null;
    if (!tasks.isEmpty()) {
      try {
        out.add(tasks.get(0).call());
      } catch (Exception e) {
        first = e;
        out.add(null);
      }
    }
    for (Future<T> f : futures) {
      try {
        out.add(f.get());
      } catch (ExecutionException e) {
        if (first == null) first = e.getCause() instanceof Exception x ? x : new RuntimeException(e.getCause());
        out.add(null);
      } catch (InterruptedException e) {
        for (Future<T> g : futures) g.cancel(true);
        Thread.currentThread().interrupt();
        throw e;
      }
    }
    if (first != null) throw first;
    return out;
  }
}
