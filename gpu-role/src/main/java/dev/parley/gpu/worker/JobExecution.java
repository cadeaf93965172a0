package dev.parley.gpu.worker;

import dev.parley.gpu.pipeline.DiarizationException;
import dev.parley.gpu.pipeline.Diarizer;
import dev.parley.gpu.pipeline.audio.AudioDecoder;
import dev.parley.protocol.DiarizationOptions;
import dev.parley.protocol.DiarizationResult;
import dev.parley.protocol.blob.BlobStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one job on the calling (blocking) thread: materializes the meeting's audio from the blob
 * store into a per-attempt scratch directory, runs the {@link Diarizer}, removes the scratch copy,
 * and turns every way it can end into a {@link JobOutcome}. Never throws.
 */
public final class JobExecution {
  private static final Logger log = LoggerFactory.getLogger(JobExecution.class);

  /** Stage reported while the audio is copied from the blob store. */
  public static final String STAGE_FETCH = "fetching audio";

  private final BlobStore blobs;
  private final Diarizer diarizer;
  private final Path scratchRoot;

  public JobExecution(BlobStore blobs, Diarizer diarizer, Path scratchRoot) {
    this.blobs = blobs;
    this.diarizer = diarizer;
    this.scratchRoot = scratchRoot;
  }

  /**
   * Runs the job, stopping early once {@code cancellation} is cancelled: the outcome is then a
   * retryable failure with the cancellation's reason, whatever the pipeline did meanwhile: a meeting
   * that cancelled the attempt itself ignores it, and one whose attempt this node gave up (no http
   * node to report to, a node shutting down) runs it again.
   */
  JobOutcome run(
      String meetingId, String attemptId, String audioKey, DiarizationOptions options,
      Diarizer.ProgressListener progress, Cancellation cancellation) {
    cancellation.enter();
    try {
      JobOutcome outcome = run(meetingId, attemptId, audioKey, options, (stage, fraction) -> {
        cancellation.check();
        progress.progress(stage, fraction);
      }, scratchRoot.resolve("job-" + safe(attemptId)));
      return cancellation.cancelled() ? new JobOutcome.Failed("cancelled: " + cancellation.reason(), true) : outcome;
    } finally {
      cancellation.exit();
    }
  }

  private JobOutcome run(
      String meetingId, String attemptId, String audioKey, DiarizationOptions options,
      Diarizer.ProgressListener progress, Path scratch) {
    try {
      progress.progress(STAGE_FETCH, 0.0);
      Files.createDirectories(scratch);
      Path audio;
      try {
        audio = blobs.materialize(audioKey, scratch);
      } catch (IllegalArgumentException e) {
        // an invalid blob key: the job itself is malformed (one from inside the pipeline is a worker error)
        return new JobOutcome.Failed("invalid job: " + e.getMessage(), false);
      }
      DiarizationResult result =
          diarizer.diarize(audio, options == null ? DiarizationOptions.NONE : options, progress);
      if (result == null) return new JobOutcome.Failed("the pipeline returned no result", true);
      return new JobOutcome.Completed(result);
    } catch (DiarizationException e) {
      return new JobOutcome.Failed(e.getMessage(), e.retryable());
    } catch (NoSuchFileException e) {
      // the audio is gone (meeting deleted, or never stored): another attempt cannot help
      return new JobOutcome.Failed("audio " + audioKey + " not found in the blob store", false);
    } catch (IOException e) {
      log.warn("meeting {} attempt {}: reading audio {} failed", meetingId, attemptId, audioKey, e);
      return new JobOutcome.Failed("could not read the audio: " + e.getMessage(), true);
    } catch (Cancellation.Cancelled e) {
      return new JobOutcome.Failed("cancelled: " + e.getMessage(), true);
    } catch (OutOfMemoryError e) {
      log.error("meeting {} attempt {}: out of memory ({}), heap at most {} MB", meetingId, attemptId, e.getMessage(),
          Runtime.getRuntime().maxMemory() / (1024 * 1024));
      return new JobOutcome.Failed("the gpu node ran out of memory (" + e.getMessage() + "); the recording needs a node"
          + " with a larger heap (-Xmx): its samples alone take " + AudioDecoder.MB_PER_AUDIO_HOUR + " MB an hour", true);
    } catch (RuntimeException e) {
      log.error("meeting {} attempt {}: worker error", meetingId, attemptId, e);
      return new JobOutcome.Failed("worker error: " + e, true);
    } finally {
      ScratchSpace.deleteTree(scratch);
    }
  }

  private static String safe(String id) {
    return id.replaceAll("[^A-Za-z0-9._-]", "_");
  }
}
