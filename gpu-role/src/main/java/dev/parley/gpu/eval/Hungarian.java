package dev.parley.gpu.eval;

import java.util.Arrays;

/** Optimal one-to-one assignment (Kuhn–Munkres with potentials, O(n^2 m)). */
public final class Hungarian {
  private Hungarian() {}

  /**
   * Assignment maximising the summed {@code weight[i][j]}: {@code result[i]} is the column given to
   * row {@code i}, or -1 when there are more rows than columns and row {@code i} is left out.
   */
  public static int[] maximize(double[][] weight) {
    int rows = weight.length;
    if (rows == 0) return new int[0];
    int cols = weight[0].length;
    if (cols == 0) {
      int[] none = new int[rows];
      Arrays.fill(none, -1);
      return none;
    }
    boolean transpose = rows > cols;
    int n = transpose ? cols : rows;
    int m = transpose ? rows : cols;
    double max = 0;
    for (double[] r : weight) for (double v : r) max = Math.max(max, v);
    // cost[i][j] (1-based) = max - weight, minimised
    double[][] cost = new double[n + 1][m + 1];
    for (int i = 0; i < n; i++)
      for (int j = 0; j < m; j++)
        cost[i + 1][j + 1] = max - (transpose ? weight[j][i] : weight[i][j]);
    double[] u = new double[n + 1];
    double[] v = new double[m + 1];
    int[] p = new int[m + 1];
    int[] way = new int[m + 1];
    for (int i = 1; i <= n; i++) {
      p[0] = i;
      int j0 = 0;
      double[] minv = new double[m + 1];
      Arrays.fill(minv, Double.POSITIVE_INFINITY);
      boolean[] used = new boolean[m + 1];
      do {
        used[j0] = true;
        int i0 = p[j0];
        double delta = Double.POSITIVE_INFINITY;
        int j1 = 0;
        for (int j = 1; j <= m; j++) {
          if (used[j]) continue;
          double cur = cost[i0][j] - u[i0] - v[j];
          if (cur < minv[j]) {
            minv[j] = cur;
            way[j] = j0;
          }
          if (minv[j] < delta) {
            delta = minv[j];
            j1 = j;
          }
        }
        for (int j = 0; j <= m; j++) {
          if (used[j]) {
            u[p[j]] += delta;
            v[j] -= delta;
          } else {
            minv[j] -= delta;
          }
        }
        j0 = j1;
      } while (p[j0] != 0);
      do {
        int j1 = way[j0];
        p[j0] = p[j1];
        j0 = j1;
      } while (j0 != 0);
    }
    int[] result = new int[rows];
    Arrays.fill(result, -1);
    for (int j = 1; j <= m; j++) {
      if (p[j] == 0) continue;
      if (transpose) result[j - 1] = p[j] - 1;
      else result[p[j] - 1] = j - 1;
    }
    return result;
  }
}
