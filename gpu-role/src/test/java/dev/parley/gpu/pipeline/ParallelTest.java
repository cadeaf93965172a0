package dev.parley.gpu.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

class ParallelTest {
  @Test
  void resultsComeInOrderAndAFailureAfterAllHaveRun() throws Exception {
    List<Parallel.Task<Integer>> tasks = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      int n = i;
      tasks.add(() -> n * n);
    }
    assertEquals(List.of(0, 1, 4, 9, 16), Parallel.run(tasks));
    OutOfMemoryError oom = new OutOfMemoryError("Java heap space");
    List<Parallel.Task<Integer>> failing = List.of(() -> 1, () -> {
      throw oom;
    });
    assertSame(oom, assertThrows(OutOfMemoryError.class, () -> Parallel.run(failing)), "an Error as itself, not wrapped");
  }

  /**
   * A review: a job cancelled just before a stage (its thread interrupted already) had its other
   * tasks cancelled before they started; they never counted down, and run waited for ever.
   */
  @RepeatedTest(5)
  void anInterruptBeforeTheTasksStartDoesNotHangRun() {
    assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
      List<Parallel.Task<Integer>> tasks = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        tasks.add(() -> {
          Parallel.checkInterrupted(); // as WindowEmbedder's loop does first
          Thread.sleep(50);
          return 1;
        });
      }
      Thread.currentThread().interrupt();
      try {
        assertThrows(InterruptedException.class, () -> Parallel.run(tasks));
      } finally {
        Thread.interrupted();
      }
    });
  }
}
