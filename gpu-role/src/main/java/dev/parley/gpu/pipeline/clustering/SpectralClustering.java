package dev.parley.gpu.pipeline.clustering;

import java.util.Arrays;
import java.util.Random;

/**
 * Spectral clustering with the normalised maximum eigengap (NME-SC, Park et al., 2019): the
 * cosine affinity matrix is pruned to each row's {@code p} strongest neighbours and binarised;
 * for each candidate {@code p} the Laplacian's eigengaps give a speaker count, and the {@code p}
 * whose largest gap is largest relative to {@code p} wins. No similarity threshold is needed.
 * Rows of the chosen Laplacian's first {@code k} eigenvectors are then grouped by k-means.
 */
final class SpectralClustering {
  private SpectralClustering() {}

  /** Result: labels and the count the eigengap chose. */
  record Result(int[] labels, int count) {}

  /**
   * @param e L2-normalised embeddings (a few hundred at most: O(n^3) per candidate)
   * @param exact the count to use, or 0 to estimate it within {@code [lo, hi]}
   */
  static Result cluster(float[][] e, int exact, int lo, int hi, long seed) {
    int n = e.length;
    if (n <= 2) return new Result(new int[n], 1);
    float[][] sim = Similarity.cosineMatrix(e);
    int maxK = Math.max(1, Math.min(hi, n - 1));
    int minK = Math.max(1, Math.min(lo, maxK));
    int pMax = Math.max(2, n / 4);
    int step = Math.max(1, pMax / 20);
    double bestRatio = Double.POSITIVE_INFINITY;
    SymmetricEigen bestEig = null;
    int bestK = 1;
    for (int p = 2; p <= pMax; p += step) {
      SymmetricEigen eig = new SymmetricEigen(laplacian(prune(sim, p)));
      double[] lam = eig.values;
      double lamMax = lam[n - 1];
      int k = 1;
      double gap = Double.NEGATIVE_INFINITY;
      for (int i = minK; i <= maxK; i++) {
        double g = lam[i] - lam[i - 1];
        if (g > gap) {
          gap = g;
          k = i;
        }
      }
      double normGap = gap / (lamMax + 1e-10);
      double ratio = p / (normGap + 1e-10);
      if (ratio < bestRatio) {
        bestRatio = ratio;
        bestEig = eig;
        bestK = k;
      }
    }
    int k = exact > 0 ? Math.min(exact, n) : bestK;
    if (k <= 1) return new Result(new int[n], 1);
    double[][] rows = new double[n][k];
    for (int i = 0; i < n; i++) for (int j = 0; j < k; j++) rows[i][j] = bestEig.vectors[i][j];
    int[] labels = kMeans(rows, k, seed);
    return new Result(SpeakerClusterer.dense(labels), Arrays.stream(labels).distinct().toArray().length);
  }

  /** Keeps each row's {@code p} largest off-diagonal similarities as 1, the rest 0, then symmetrises. */
  static double[][] prune(float[][] sim, int p) {
    int n = sim.length;
    double[][] a = new double[n][n];
    Integer[] idx = new Integer[n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) idx[j] = j;
      final float[] row = sim[i];
      Arrays.sort(idx, (x, y) -> Float.compare(row[y], row[x]));
      int kept = 0;
      for (int t = 0; t < n && kept < p; t++) {
        if (idx[t] == i) continue;
        a[i][idx[t]] = 1;
        kept++;
      }
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
