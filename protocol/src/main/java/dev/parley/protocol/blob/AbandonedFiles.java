package dev.parley.protocol.blob;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Predicate;
import java.util.stream.Stream;

/** What killed processes leave behind: temporary files nobody has written to for a while. */
public final class AbandonedFiles {
  private AbandonedFiles() {}

  /**
   * Deletes the files directly in {@code dir} whose name {@code ours} accepts and that were last
   * written more than {@code age} ago. Files that vanish meanwhile, or that this process may not
   * delete, are left to the next sweep; an unreadable directory deletes nothing.
   *
   * @return how many were deleted
   */
  public static int delete(Path dir, Predicate<String> ours, Duration age) {
    long cutoff = System.currentTimeMillis() - age.toMillis();
    int removed = 0;
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> ours.test(p.getFileName().toString())).toList()) {
        try {
          if (Files.getLastModifiedTime(f).toMillis() < cutoff && Files.deleteIfExists(f)) removed++;
        } catch (IOException e) {
          // gone meanwhile, or not ours to delete
        }
      }
    } catch (IOException e) {
      // nothing to reclaim
    }
    return removed;
  }
}
