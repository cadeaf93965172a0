package dev.parley.gpu.pipeline.windows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.parley.gpu.embedding.SpeakerEmbeddingModel;
import dev.parley.gpu.pipeline.PipelineParams;
import dev.parley.gpu.pipeline.features.Fbank;
import java.util.List;
import java.util.function.DoubleConsumer;

/**
 * Embeds windows of one recording: log-mel features are computed once for the whole recording
 * (on the model's device), each batch of windows is gathered from them in one indexing op,
 * mean-normalised per window, run through the speaker model and L2-normalised on the device.
 * Only the {@code [n, dim]} embeddings come back to the JVM. Thread-safe (state lives in the
 * caller's NDManager).
 */
public final class WindowEmbedder {
  private final Fbank fbank;
  private final SpeakerEmbeddingModel model;
  private final PipelineParams.Embedding params;

  public WindowEmbedder(Fbank fbank, SpeakerEmbeddingModel model, PipelineParams.Embedding params) {
    this.fbank = fbank;
    this.model = model;
    this.params = params;
  }

  /**
   * @param features {@code [frames, 80]} fbank of the whole recording ({@link #features})
   * @param progress receives the fraction of windows done
   * @return one L2-normalised embedding per window
   */
  public float[][] embed(NDArray features, List<Window> windows, NDManager manager, DoubleConsumer progress) {
    int n = windows.size();
    float[][] out = new float[n][];
    int frames = (int) features.getShape().get(0);
    if (n == 0) return out;
    if (frames == 0) throw new IllegalArgumentException("no feature frames to embed");
    int batch = Math.max(1, params.batchSize());
    int b0 = 0;
    while (b0 < n) {
      int b1 = Math.min(n, b0 + batch);
      int t = windows.get(b0).length();
      // windows of one batch must share a length; split where they do not
      for (int i = b0 + 1; i < b1; i++) {
        if (windows.get(i).length() != t) {
          b1 = i;
          break;
        }
      }
      long[] rows = new long[(b1 - b0) * t];
      int k = 0;
      for (int i = b0; i < b1; i++) {
        Window w = windows.get(i);
        for (int f = 0; f < t; f++) rows[k++] = Math.min(frames - 1, Math.max(0, w.start() + f));
      }
      try (NDManager scratch = manager.newSubManager()) {
        NDArray idx = scratch.create(rows).toDevice(features.getDevice(), false);
        NDArray x = features.get(new NDIndex("{}", idx)).reshape(new Shape(b1 - b0, t, Fbank.NUM_BINS));
        NDArray e = model.embed(Fbank.cmn(x));
        NDArray norm = e.norm(new int[] {1}, true).maximum(1e-12f);
        float[] flat = e.div(norm).toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
        int d = (int) e.getShape().get(1);
        for (int i = b0; i < b1; i++) {
          float[] v = new float[d];
          System.arraycopy(flat, (i - b0) * d, v, 0, d);
          out[i] = v;
        }
      }
      progress.accept((double) b1 / n);
      b0 = b1;
    }
    return out;
  }

  /** Fbank of the whole recording on the fbank's device, attached to {@code manager}. */
  public NDArray features(float[] samples, NDManager manager) {
    return fbank.compute(samples, manager);
  }
}
