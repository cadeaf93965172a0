package dev.parley.gpu.pipeline.windows;

/**
 * A stretch of audio to embed, in 10 ms frames {@code [start, end)}, standing for
 * {@code weight} seconds of speech (its share of the speech run it was cut from).
 */
public record Window(int start, int end, double weight) {
  public int length() {
    return end - start;
  }

  public double centre() {
    return 0.5 * (start + end);
  }
}
