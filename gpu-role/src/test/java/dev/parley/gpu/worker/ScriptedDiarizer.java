package dev.parley.gpu.worker;

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
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A Diarizer for worker tests: each call reports two stages, waits until the test releases the
 * audio's name (or a timeout), and returns a small result whose first segment's length is the
 * audio file's size in centiseconds, so a test can tell which input produced it. Audio whose
 * content starts with "bad" fails as not retryable; "crash" throws a RuntimeException; "huge" an
 * OutOfMemoryError.
 */
final class ScriptedDiarizer implements Diarizer {
  final AtomicInteger calls = new AtomicInteger();
  final AtomicInteger running = new AtomicInteger();
  final AtomicInteger maxRunning = new AtomicInteger();
  private final Map<String, CountDownLatch> gates = new ConcurrentHashMap<>();
  private final boolean gated;

  ScriptedDiarizer(boolean gated) {
    this.gated = gated;
  }

  void release(String audioKey) {
    gates.computeIfAbsent(audioKey, k -> new CountDownLatch(1)).countDown();
  }

  @Override
  public DiarizationResult diarize(Path audio, DiarizationOptions options, ProgressListener progress)
      throws DiarizationException {
    calls.incrementAndGet();
    int now = running.incrementAndGet();
    maxRunning.accumulateAndGet(now, Math::max);
    try {
      String content = Files.readString(audio);
      if (content.startsWith("bad")) throw new DiarizationException("not decodable audio: " + audio.getFileName(), false);
      if (content.startsWith("crash")) throw new IllegalStateException("native engine fault");
      if (content.startsWith("huge")) throw new OutOfMemoryError("Java heap space");
      progress.progress("vad", 0.2);
      if (gated) {
        CountDownLatch gate = gates.computeIfAbsent(audio.getFileName().toString(), k -> new CountDownLatch(1));
        if (!gate.await(30, TimeUnit.SECONDS)) throw new DiarizationException("test gate timed out", true);
      }
      progress.progress("embeddings", 0.7);
      double len = Files.size(audio) / 100.0;
      return new DiarizationResult(
          List.of(new Segment(0.0, len, "SPEAKER_00"), new Segment(len, len + 1.0, "SPEAKER_01")),
          List.of(new SpeakerSummary("SPEAKER_00", len, new float[] {1f, 0f}),
              new SpeakerSummary("SPEAKER_01", 1.0, new float[] {0f, 1f})),
          Map.of("embedding", "scripted@1"),
          new Timing(len + 1.0, 0.01, 0.01, "cpu"));
    } catch (IOException e) {
      throw new DiarizationException("cannot read " + audio, true, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DiarizationException("interrupted", true, e);
    } finally {
      running.decrementAndGet();
    }
  }

  @Override
  public void close() {}
}
