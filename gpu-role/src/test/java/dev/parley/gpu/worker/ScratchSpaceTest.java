package dev.parley.gpu.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Scratch directories of dead gpu processes are removed at start; those of live ones are kept. */
class ScratchSpaceTest {
  /** Child process: claims a scratch directory, leaves a job's audio in it, says where, then waits to be killed. */
  public static void main(String[] args) throws Exception {
    ScratchSpace s = ScratchSpace.claim(Path.of(args[0]));
    Files.createDirectories(s.dir().resolve("job-1"));
    Files.write(s.dir().resolve("job-1").resolve("audio.wav"), new byte[4096]);
    System.out.println("claimed " + s.dir());
    System.out.flush();
    Thread.sleep(Long.parseLong(args[1]));
  }

  private static Process child(Path root, long sleepMillis) throws Exception {
    return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-cp", System.getProperty("java.class.path"), ScratchSpaceTest.class.getName(), root.toString(), "" + sleepMillis)
        .redirectErrorStream(true).start();
  }

  private static Path claimedBy(Process p) throws Exception {
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line;
    StringBuilder seen = new StringBuilder();
    while ((line = out.readLine()) != null && !line.startsWith("claimed ")) seen.append(line).append('\n');
    if (line == null) throw new AssertionError("child output:\n" + seen);
    return Path.of(line.substring("claimed ".length()));
  }

  @Test
  void aKilledProcessesDirectoryIsRemovedALiveOnesIsKept(@TempDir Path root) throws Exception {
    Process dead = child(root, 60_000);
    Process live = child(root, 60_000);
    try {
      Path deadDir = claimedBy(dead);
      Path liveDir = claimedBy(live);
      dead.destroyForcibly(); // SIGKILL: its directory and the job's audio stay behind
      assertTrue(dead.waitFor(20, TimeUnit.SECONDS));
      assertTrue(Files.exists(deadDir.resolve("job-1").resolve("audio.wav")));

      try (ScratchSpace mine = ScratchSpace.claim(root)) {
        assertFalse(Files.exists(deadDir), "the killed process's scratch directory");
        assertTrue(Files.exists(liveDir.resolve("job-1").resolve("audio.wav")), "the live process's job");
        assertTrue(Files.isDirectory(mine.dir()));
        // a second claim in this JVM (two gpu roles in one process, as in the cluster tests) keeps the first
        try (ScratchSpace other = ScratchSpace.claim(root)) {
          assertTrue(Files.isDirectory(mine.dir()));
          assertTrue(Files.isDirectory(other.dir()));
        }
        Path kept = mine.dir();
        mine.close();
        assertFalse(Files.exists(kept), "closed: its directory is deleted");
      }
      try (var s = Files.list(root)) {
        assertEquals(1, s.count(), "only the live process's directory remains");
      }
    } finally {
      dead.destroyForcibly();
      live.destroyForcibly();
    }
  }

  /** A review: a process killed in the milliseconds between its claim's two steps left a .claiming- directory for good. */
  @Test
  void aClaimCutOffHalfWayIsRemovedOnceItIsAMinuteOld(@TempDir Path root) throws Exception {
    Path cut = Files.createDirectories(root.resolve(".claiming-cut").resolve("job-1"));
    Files.setLastModifiedTime(cut.getParent(), FileTime.from(
        Instant.now().minusSeconds(120)));
    Path young = Files.createDirectory(root.resolve(".claiming-young")); // another process, still claiming
    try (ScratchSpace mine = ScratchSpace.claim(root)) {
      assertFalse(Files.exists(cut.getParent()));
      assertTrue(Files.exists(young));
    }
  }
}
