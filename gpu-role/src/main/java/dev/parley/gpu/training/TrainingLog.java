package dev.parley.gpu.training;

import dev.parley.gpu.pipeline.audio.AudioDecodeException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Locale;

/**
 * What every trainer starts with: DJL offline with {@code threads} intra-op threads, the output
 * directory, and a {@code train.log} there that each line also goes to standard output.
 */
final class TrainingLog implements AutoCloseable {
  private final PrintWriter log;

  private TrainingLog(PrintWriter log) {
    this.log = log;
  }

  static TrainingLog open(Path out, int threads) throws IOException {
    System.setProperty("ai.djl.offline", "true");
    System.setProperty("ai.djl.pytorch.num_threads", "" + threads);
    System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
    Files.createDirectories(out);
    return new TrainingLog(new PrintWriter(Files.newBufferedWriter(out.resolve("train.log"), StandardCharsets.UTF_8,
        StandardOpenOption.CREATE, StandardOpenOption.APPEND), true));
  }

  /** One training run, given its log. */
  @FunctionalInterface
  interface Run {
    void train(TrainingLog log) throws IOException, AudioDecodeException, InterruptedException;
  }

  /**
   * Opens the log in {@code out} and trains; the exit status of a training command: 0 when
   * training finished, 1 (with the cause on standard error) when it failed.
   */
  static int train(String command, Path out, int threads, Run run) {
    try (TrainingLog log = open(out, threads)) {
      run.train(log);
      return 0;
    } catch (IOException | AudioDecodeException | RuntimeException | InterruptedException e) {
      System.err.println(command + ": " + e);
      e.printStackTrace();
      return 1;
    }
  }

  /** A timestamped line, formatted with {@link Locale#ROOT}. */
  void say(String fmt, Object... args) {
    String line = Instant.now() + " " + String.format(Locale.ROOT, fmt, args);
    log.println(line);
    System.out.println(line);
  }

  @Override
  public void close() {
    log.close();
  }
}
