package dev.parley.gpu.pipeline.clustering;

/** Vector helpers for L2-normalised embeddings. */
public final class Similarity {
  private Similarity() {}

  public static float dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
    return (float) s;
  }

  /** Returns a unit-length copy ({@code v} itself if it is all zero). */
  public static float[] normalize(float[] v) {
    double s = 0;
    for (float x : v) s += (double) x * x;
    if (s == 0) return v.clone();
    float inv = (float) (1 / Math.sqrt(s));
    float[] out = new float[v.length];
    for (int i = 0; i < v.length; i++) out[i] = v[i] * inv;
    return out;
  }

  /** Full cosine similarity matrix of unit vectors. */
  public static float[][] cosineMatrix(float[][] e) {
    int n = e.length;
    float[][] s = new float[n][n];
    for (int i = 0; i < n; i++) {
      s[i][i] = 1f;
      for (int j = i + 1; j < n; j++) {
        float v = dot(e[i], e[j]);
        s[i][j] = v;
        s[j][i] = v;
      }
    }
    return s;
  }

  /** Weighted mean of the rows with {@code label == k}, L2-normalised, per cluster. */
  public static float[][] centroids(float[][] e, double[] w, int[] labels, int count) {
    int d = e.length == 0 ? 0 : e[0].length;
    double[][] acc = new double[count][d];
    for (int i = 0; i < e.length; i++) {
      double[] a = acc[labels[i]];
      for (int j = 0; j < d; j++) a[j] += w[i] * e[i][j];
    }
    float[][] c = new float[count][d];
    for (int k = 0; k < count; k++) {
      float[] f = new float[d];
      for (int j = 0; j < d; j++) f[j] = (float) acc[k][j];
      c[k] = normalize(f);
    }
    return c;
  }
}
