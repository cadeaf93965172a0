package dev.parley.gpu.testutil;

import ai.djl.ndarray.NDArray;
import dev.parley.gpu.embedding.SpeakerEmbeddingModel;

/**
 * A deterministic stand-in for a trained speaker model, for pipeline tests only: the log of the
 * per-bin standard deviation over time of the (mean-normalised) log-mel features, centred across
 * bins. Synthetic voices with different pitch and formants score about 0.8 cosine similarity,
 * windows of one voice about 1.0, so tests pair it with {@link #CLUSTER_THRESHOLD}.
 */
public final class SpectralStatsModel implements SpeakerEmbeddingModel {
  /** The clustering threshold that suits this model's similarity scale. */
  public static final double CLUSTER_THRESHOLD = 0.9;

  @Override
  public NDArray embed(NDArray features) {
    NDArray mean = features.mean(new int[] {1}, true);
    NDArray std = features.sub(mean).square().mean(new int[] {1}).sqrt().add(1e-3f).log(); // [B, 80]
    return std.sub(std.mean(new int[] {1}, true));
  }

  @Override
  public int dimension() {
    return 80;
  }

  @Override
  public String id() {
    return "test-spectral-stats";
  }

  @Override
  public String version() {
    return "0";
  }

  @Override
  public void close() {}
}
