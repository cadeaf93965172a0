package dev.parley.gpu.pipeline.windows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.parley.gpu.embedding.SpeakerEmbeddingModel;
import dev.parley.gpu.pipeline.PipelineParams;
import dev.parley.gpu.pipeline.features.Fbank;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class WindowEmbedderTest {
  /** A stand-in speaker model of four dimensions, named after its class. */
  interface FourDimensions extends SpeakerEmbeddingModel {
    @Override default int dimension() { return 4; }
    @Override default String id() { return getClass().getSimpleName().toLowerCase(Locale.ROOT); }
    @Override default String version() { return "0"; }
    @Override default void close() {}
  }

  /** A model whose output is {@code value} everywhere. */
  record Constant(float value) implements FourDimensions {
    @Override
    public NDArray embed(NDArray features) {
      return features.getManager().full(new Shape(features.getShape().get(0), 4), value);
    }
  }

  static float[][] embed(float value) throws Exception {
    float[] samples = new float[16_000 * 4];
    for (int i = 0; i < samples.length; i++) samples[i] = (float) Math.sin(i * 0.05) * 0.1f;
    List<Window> windows = List.of(new Window(0, 150, 1), new Window(100, 250, 1));
    try (Fbank fbank = new Fbank(Device.cpu()); NDManager m = NDManager.newBaseManager(Device.cpu())) {
      WindowEmbedder e = new WindowEmbedder(fbank, new Constant(value), PipelineParams.Embedding.defaults(), 1);
      return e.embed(samples, windows, m, f -> {});
    }
  }

  /** Keeps the features it is given, as {@code [windows][frames * 80]}. */
  static final class Probe implements FourDimensions {
    final List<float[]> seen = new ArrayList<>();

    @Override
    public NDArray embed(NDArray features) {
      long n = features.getShape().get(0);
      for (long w = 0; w < n; w++) seen.add(features.get(w).toFloatArray());
      return features.getManager().ones(new Shape(n, 4));
    }
  }

  /**
   * Audio with nothing above 3.4 kHz but a trace of noise (a telephone line, an 8 kHz file resampled)
   * gave the speaker model mel bins near the log floor that jump by whole units from frame to frame,
   * which it had never heard and which drowned the voice: every caller of a simulated telephone
   * meeting sounded alike (confusion 44 %). With the noise floor those bins stay flat.
   */
  @Test
  void emptyBandsReachTheModelFlat() throws Exception {
    Random r = new Random(3);
    float[] samples = new float[16_000 * 3];
    for (int i = 0; i < samples.length; i++) {
      samples[i] = (float) (0.1 * Math.sin(2 * Math.PI * 300 * i / 16_000.0) + 1e-6 * r.nextGaussian());
    }
    Probe probe = new Probe();
    try (Fbank fbank = new Fbank(Device.cpu()); NDManager m = NDManager.newBaseManager(Device.cpu())) {
      new WindowEmbedder(fbank, probe, PipelineParams.Embedding.defaults(), 1)
          .embed(samples, List.of(new Window(0, 150, 1)), m, f -> {});
    }
    float[] x = probe.seen.get(0); // mean-normalised per window: a flat bin is 0 in every frame
    double sum = 0;
    int count = 0;
    for (int i = 0; i < x.length; i++) {
      if (i % Fbank.NUM_BINS >= 70) {
        sum += x[i] * x[i];
        count++;
      }
    }
    double rms = Math.sqrt(sum / count);
    assertTrue(rms < 0.1, "the top ten bins move by " + rms + " from frame to frame");
  }

  @Test
  void embeddingsAreNormalised() throws Exception {
    float[][] out = embed(3f);
    assertEquals(2, out.length);
    for (float[] v : out) for (float x : v) assertEquals(0.5f, x, 1e-6f);
  }

  @Test
  void aModelGivingNaNFailsTheCallInsteadOfClusteringGarbage() {
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> embed(Float.NaN));
    assertEquals("the speaker model gave a non-finite embedding", e.getMessage());
  }

  /** A slow model (busy, like a native forward that ignores interrupts) that counts its calls. */
  static final class Slow implements FourDimensions {
    final AtomicInteger calls = new AtomicInteger();

    @Override
    public NDArray embed(NDArray features) {
      long until = System.nanoTime() + 40_000_000L;
      while (System.nanoTime() < until) Thread.onSpinWait();
      calls.incrementAndGet();
      return features.getManager().zeros(new Shape(features.getShape().get(0), 4));
    }
  }

  /**
   * A review: a job cancelled while it embedded returned and gave up its slot while the other
   * threads embedded every block they owned (32 more model calls in the next 2 s).
   */
  @Test
  void aCancelledJobsOtherThreadsStopBeforeItReturns() throws Exception {
    float[] samples = new float[16_000 * 300]; // 5 minutes
    for (int i = 0; i < samples.length; i++) samples[i] = (float) Math.sin(i * 0.05) * 0.1f;
    List<Window> windows = new ArrayList<>();
    for (int start = 0; start + 150 <= samples.length / 160; start += 75) windows.add(new Window(start, start + 150, 1));
    Slow model = new Slow();
    try (Fbank fbank = new Fbank(Device.cpu()); NDManager m = NDManager.newBaseManager(Device.cpu())) {
      PipelineParams.Embedding p = new PipelineParams.Embedding(1.5, 0.75, 0.3, 8, 10);
      WindowEmbedder e = new WindowEmbedder(fbank, model, p, 2);
      assertThrows(Exception.class, () -> e.embed(samples, windows, m, f -> {
        // what JobExecution does on a cancel: interrupt the job's thread, then throw from its progress report
        Thread.currentThread().interrupt();
        throw new IllegalStateException("cancelled");
      }));
      Thread.interrupted();
      int atReturn = model.calls.get();
      Thread.sleep(1000);
      assertEquals(atReturn, model.calls.get(), "the cancelled job's embedding went on after it returned");
      assertTrue(atReturn < windows.size() / 8, atReturn + " of " + windows.size() / 8 + " blocks embedded");
    }
  }
}
