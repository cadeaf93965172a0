package dev.parley.gpu.worker;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This process's own directory under the scratch root, where jobs copy their audio from a remote
 * blob store. The directory holds a lock file that the process keeps locked while it lives; the
 * operating system releases the lock when the process dies, however it dies. On start, directories
 * whose lock nobody holds are what a killed gpu process left behind (up to a whole recording each),
 * and are deleted, while those of gpu processes still running beside this one are left alone.
 */
public final class ScratchSpace implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ScratchSpace.class);
  private static final String PREFIX = "node-";
  private static final String CLAIMING = ".claiming-";
  private static final String LOCK = ".lock";

  private final Path dir;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final AtomicBoolean closed = new AtomicBoolean();

  private ScratchSpace(Path dir, FileChannel lockChannel, FileLock lock) {
    this.dir = dir;
    this.lockChannel = lockChannel;
    this.lock = lock;
  }

  /** Deletes what dead processes left under {@code root}, then claims a new directory there. */
  public static ScratchSpace claim(Path root) throws IOException {
    Files.createDirectories(root);
    int removed = removeAbandoned(root);
    if (removed > 0) log.info("removed {} scratch director{} left by gpu processes that died", removed, removed == 1 ? "y" : "ies");
    // locked before it gets its name, so a gpu node starting at the same moment never sees it unlocked
    String id = UUID.randomUUID().toString();
    Path claiming = Files.createDirectory(root.resolve(CLAIMING + id));
    FileChannel channel = FileChannel.open(claiming.resolve(LOCK), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    try {
      FileLock lock = channel.lock();
      Path dir = Files.move(claiming, root.resolve(PREFIX + id), StandardCopyOption.ATOMIC_MOVE);
      return new ScratchSpace(dir, channel, lock);
    } catch (IOException | RuntimeException e) {
      channel.close();
      deleteTree(claiming);
      throw e;
    }
  }

  /** Where this process's jobs put their files. */
  public Path dir() {
    return dir;
  }

  static int removeAbandoned(Path root) throws IOException {
    List<Path> candidates;
    try (Stream<Path> s = Files.list(root)) {
      candidates = s.filter(p -> Files.isDirectory(p) && (p.getFileName().toString().startsWith(PREFIX)
          || (p.getFileName().toString().startsWith(CLAIMING) && olderThanAMinute(p)))).toList();
    }
    int removed = 0;
    for (Path d : candidates) {
      if (ownerAlive(d)) continue;
      deleteTree(d);
      removed++;
    }
    return removed;
  }

  /**
   * A claim a process died in the middle of (it takes milliseconds; a younger one may be another
   * process's, still making its lock file).
   */
  private static boolean olderThanAMinute(Path d) {
    try {
      return Files.getLastModifiedTime(d).toInstant().isBefore(Instant.now().minusSeconds(60));
    } catch (IOException e) {
      return false;
    }
  }

  private static boolean ownerAlive(Path d) {
    Path lockFile = d.resolve(LOCK);
    if (!Files.exists(lockFile)) return false; // not a directory this class made
    try (FileChannel c = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
      FileLock l = c.tryLock();
      if (l == null) return true; // held by another process
      l.release();
      return false;
    } catch (OverlappingFileLockException e) {
      return true; // held by this JVM (another gpu role in the same process, as in tests)
    } catch (IOException e) {
      log.warn("cannot check scratch directory {}; leaving it: {}", d, e.toString());
      return true;
    }
  }

  /** Deletes {@code dir} and everything in it, as far as it can; logs what it cannot delete. */
  static void deleteTree(Path dir) {
    if (!Files.exists(dir)) return;
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          log.warn("could not delete scratch file {}: {}", p, e.toString());
        }
      });
    } catch (IOException e) {
      log.warn("could not clean scratch directory {}: {}", dir, e.toString());
    }
  }

  /** Releases the lock and deletes the directory; once. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) return;
    try {
      lock.release();
      lockChannel.close();
    } catch (IOException e) {
      log.debug("releasing scratch lock {}: {}", dir, e.toString());
    }
    deleteTree(dir);
  }
}
