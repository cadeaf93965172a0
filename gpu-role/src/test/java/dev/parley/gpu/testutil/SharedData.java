package dev.parley.gpu.testutil;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates ../shared for *SharedDataTest classes (system property parley.shared, set by surefire). */
public final class SharedData {
  private SharedData() {}

  public static Path root() {
    String p = System.getProperty("parley.shared");
    Path root = p != null && !p.isBlank() ? Path.of(p) : Path.of("../../shared");
    if (!Files.isDirectory(root)) {
      throw new IllegalStateException("shared data not found at " + root.toAbsolutePath()
          + " (set -Dparley.shared=/path/to/shared)");
    }
    return root;
  }

  public static Path amiDev() {
    return root().resolve("data/ami-dev");
  }

  public static Path sileroModel() {
    return root().resolve("models/silero_vad.jit");
  }
}
