package dev.parley.node.cluster;

import dev.parley.gpu.pipeline.DiarizationException;
import dev.parley.gpu.pipeline.Diarizer;
import dev.parley.protocol.DiarizationOptions;
import dev.parley.protocol.DiarizationResult;
import dev.parley.protocol.Segment;
import dev.parley.protocol.SpeakerSummary;
import dev.parley.protocol.Timing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A stand-in for the DJL pipeline with controllable timing: reads the audio it is given (so the
 * blob store path is real), reports progress, takes {@code duration}, and returns a small result
 * shaped like the pipeline's (two speakers, segments at 10 ms, centroids, models, timing). The
 * audio length is taken as {@code (bytes - 44) / 32000} seconds (16 kHz 16-bit mono WAV), so the
 * result depends on the input.
 */
final class SleepyDiarizer implements Diarizer {
  final Duration duration;
  final AtomicInteger started = new AtomicInteger();
  final AtomicInteger finished = new AtomicInteger();
  final CountDownLatch firstStarted = new CountDownLatch(1);

  SleepyDiarizer(Duration duration) {
    this.duration = duration;
  }

  @Override
  public DiarizationResult diarize(Path audio, DiarizationOptions options, ProgressListener progress)
      throws DiarizationException {
    started.incrementAndGet();
    firstStarted.countDown();
    long bytes;
    try {
      bytes = Files.size(audio);
    } catch (IOException e) {
      throw new DiarizationException("cannot read " + audio, true, e);
    }
    long t0 = System.nanoTime();
    try {
      long steps = 10;
      for (int i = 0; i < steps; i++) {
        progress.progress(i < 3 ? "vad" : "embeddings", (double) i / steps);
        Thread.sleep(duration.toMillis() / steps);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DiarizationException("interrupted", true, e);
    }
    double seconds = Math.round(Math.max(1.0, (bytes - 44) / 32000.0) * 100) / 100.0;
    double half = Math.round(seconds * 50) / 100.0;
    finished.incrementAndGet();
    double took = (System.nanoTime() - t0) / 1e9;
    return new DiarizationResult(
        List.of(new Segment(0.0, half, "SPEAKER_00"), new Segment(half, seconds, "SPEAKER_01")),
        List.of(new SpeakerSummary("SPEAKER_00", half, new float[] {0.6f, 0.8f}),
            new SpeakerSummary("SPEAKER_01", seconds - half, new float[] {0.8f, -0.6f})),
        Map.of("vad", "test-sleep@1", "embedding", "test-sleep@1"),
        new Timing(seconds, took, took / seconds, "cpu"));
  }

  @Override
  public void close() {}
}
