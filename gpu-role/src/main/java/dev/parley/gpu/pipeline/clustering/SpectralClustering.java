package dev.parley.gpu.pipeline.clustering;

import java.util.Arrays;
import java.util.Random;

/**
 * Spectral clustering on a pruned cosine affinity. Each row of the cosine similarity matrix keeps
 * its strongest {@code pruneFraction} of entries (at least 3, itself included) and the rest become
 * 0; the result is symmetrised. Short, noisy windows of one talker are each close to some of that
 * talker's other windows even when their average similarity is low, so the pruned graph connects a
 * talker's windows and few others. The count is the largest eigengap of the normalised Laplacian
 * within {@code [lo, hi]}; rows of the first {@code k} eigenvectors of the unnormalised Laplacian,
 * scaled to unit length, are grouped by k-means. Whether there is more than one speaker at all is
 * not decided here (an eigengap always finds some structure): see {@link SpeakerClusterer}.
 */
final class SpectralClustering {
  private SpectralClustering() {}

  /**
   * @param e L2-normalised embeddings (a few hundred at most: O(n^3))
   * @param exact the count to use, or 0 to estimate it within {@code [lo, hi]}
   * @return labels numbered densely from 0
   */
  static int[] cluster(float[][] e, int exact, int lo, int hi, double pruneFraction, long seed) {
    int n = e.length;
    int k = exact > 0 ? Math.min(exact, n) : 0;
    if (n <= 2 || k == 1) return new int[n];
    double[][] a = prune(Similarity.cosineMatrix(e), Math.max(3, (int) Math.round(pruneFraction * n)));
    if (k == 0) {
      double[] lam = new SymmetricEigen(normalisedLaplacian(a)).values;
      int maxK = Math.max(1, Math.min(hi, n - 1));
      int minK = Math.max(2, Math.min(lo, maxK));
      k = minK;
      double gap = Double.NEGATIVE_INFINITY;
      for (int i = minK; i <= maxK; i++) {
        double g = lam[i] - lam[i - 1];
        if (g > gap) {
          gap = g;
          k = i;
        }
      }
    }
    SymmetricEigen eig = new SymmetricEigen(laplacian(a));
    double[][] rows = new double[n][k];
    for (int i = 0; i < n; i++) {
      double norm = 0;
      for (int j = 0; j < k; j++) norm += eig.vectors[i][j] * eig.vectors[i][j];
      double inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (int j = 0; j < k; j++) rows[i][j] = eig.vectors[i][j] * inv;
    }
    return SpeakerClusterer.dense(kMeans(rows, k, seed));
  }

  /**
   * Keeps each row's {@code keep} largest similarities (the diagonal counts as one), sets the rest
   * and negative values to 0, then symmetrises by averaging; the diagonal is 0.
   */
  static double[][] prune(float[][] sim, int keep) {
    int n = sim.length;
    double[][] a = new double[n][n];
    float[] sorted = new float[n];
    for (int i = 0; i < n; i++) {
      System.arraycopy(sim[i], 0, sorted, 0, n);
      Arrays.sort(sorted);
      float floor = sorted[Math.max(0, n - keep)];
      for (int j = 0; j < n; j++) if (j != i && sim[i][j] >= floor) a[i][j] = Math.max(0, sim[i][j]);
    }
    for (int i = 0; i < n; i++) {
      for (int j = i + 1; j < n; j++) {
        double v = 0.5 * (a[i][j] + a[j][i]);
        a[i][j] = v;
        a[j][i] = v;
      }
    }
    return a;
  }

  /** Unnormalised graph Laplacian D - A. */
  static double[][] laplacian(double[][] a) {
    int n = a.length;
    double[][] l = new double[n][n];
    for (int i = 0; i < n; i++) {
      double deg = 0;
      for (int j = 0; j < n; j++) {
        if (j == i) continue;
        deg += a[i][j];
        l[i][j] = -a[i][j];
      }
      l[i][i] = deg;
    }
    return l;
  }

  /** Normalised graph Laplacian I - D^-1/2 A D^-1/2 (an isolated row keeps 1 on the diagonal). */
  static double[][] normalisedLaplacian(double[][] a) {
    int n = a.length;
    double[] inv = new double[n];
    for (int i = 0; i < n; i++) {
      double deg = 0;
      for (int j = 0; j < n; j++) deg += a[i][j];
      inv[i] = deg > 0 ? 1 / Math.sqrt(deg) : 0;
    }
    double[][] l = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) l[i][j] = -a[i][j] * inv[i] * inv[j];
      l[i][i] += 1;
    }
    return l;
  }

  /** k-means with k-means++ seeding, best of a few restarts by inertia. */
  static int[] kMeans(double[][] x, int k, long seed) {
    int n = x.length;
    int d = x[0].length;
    Random r = new Random(seed);
    int[] best = null;
    double bestInertia = Double.POSITIVE_INFINITY;
    for (int restart = 0; restart < 8; restart++) {
      double[][] c = new double[k][];
      c[0] = x[r.nextInt(n)].clone();
      double[] dist = new double[n];
      for (int j = 1; j < k; j++) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
          double m = Double.POSITIVE_INFINITY;
          for (int q = 0; q < j; q++) m = Math.min(m, sq(x[i], c[q]));
          dist[i] = m;
          sum += m;
        }
        double pick = r.nextDouble() * sum;
        int chosen = n - 1;
        for (int i = 0; i < n; i++) {
          pick -= dist[i];
          if (pick <= 0) {
            chosen = i;
            break;
          }
        }
        c[j] = x[chosen].clone();
      }
      int[] lab = new int[n];
      for (int iter = 0; iter < 100; iter++) {
        boolean moved = false;
        for (int i = 0; i < n; i++) {
          int bj = 0;
          double bd = Double.POSITIVE_INFINITY;
          for (int j = 0; j < k; j++) {
            double dd = sq(x[i], c[j]);
            if (dd < bd) {
              bd = dd;
              bj = j;
            }
          }
          if (lab[i] != bj || iter == 0) moved |= lab[i] != bj;
          lab[i] = bj;
        }
        double[][] sum = new double[k][d];
        int[] cnt = new int[k];
        for (int i = 0; i < n; i++) {
          cnt[lab[i]]++;
          for (int t = 0; t < d; t++) sum[lab[i]][t] += x[i][t];
        }
        for (int j = 0; j < k; j++) if (cnt[j] > 0) for (int t = 0; t < d; t++) c[j][t] = sum[j][t] / cnt[j];
        if (!moved && iter > 0) break;
      }
      double inertia = 0;
      for (int i = 0; i < n; i++) inertia += sq(x[i], c[lab[i]]);
      if (inertia < bestInertia) {
        bestInertia = inertia;
        best = lab;
      }
    }
    return best;
  }

  private static double sq(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      double t = a[i] - b[i];
      s += t * t;
    }
    return s;
  }
}
