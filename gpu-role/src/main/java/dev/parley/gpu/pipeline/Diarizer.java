package dev.parley.gpu.pipeline;

import dev.parley.protocol.DiarizationOptions;
import dev.parley.protocol.DiarizationResult;
import java.nio.file.Path;

/**
 * The one interface the gpu worker and the CLI run: a recording in, who spoke when out.
 * Implementations are thread-safe for concurrent calls (one call per job).
 */
public interface Diarizer extends AutoCloseable {

  DiarizationResult diarize(Path audio, DiarizationOptions options, ProgressListener progress)
      throws DiarizationException;

  /** Receives the current stage and overall progress in 0..1; called from the job's thread. */
  @FunctionalInterface
  interface ProgressListener {
    ProgressListener NONE = (stage, fraction) -> {};

    void progress(String stage, double fraction);
  }

  @Override
  void close();
}
