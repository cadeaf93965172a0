package dev.parley.gpu.pipeline.clustering;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Average-linkage agglomerative clustering of L2-normalised embeddings on cosine similarity,
 * weighted by each item's speech duration. Uses the nearest-neighbour-chain algorithm (O(n^2)
 * time, one n×n float matrix), then cuts the dendrogram either where the linkage similarity
 * falls below a threshold or at a requested number of clusters. An hour of audio (about 4,000
 * windows) clusters in a few seconds.
 */
public final class AgglomerativeClustering {
  private AgglomerativeClustering() {}

  /** One merge of the dendrogram: clusters {@code a} and {@code b} at linkage {@code similarity}. */
  record Merge(int a, int b, double similarity) {}

  /**
   * @param embeddings n L2-normalised vectors of equal length
   * @param weights n positive weights (seconds of speech each item stands for)
   * @return the merges of a full dendrogram, sorted by decreasing similarity (n - 1 of them)
   */
  static List<Merge> dendrogram(float[][] embeddings, double[] weights) {
    int n = embeddings.length;
    List<Merge> merges = new ArrayList<>(Math.max(0, n - 1));
    if (n < 2) return merges;
    float[][] sim = Similarity.cosineMatrix(embeddings); // becomes average linkage between live clusters
    double[] size = weights.clone();
    boolean[] dead = new boolean[n];
    int[] chain = new int[n];
    int top = 0;
    int live = n;
    while (live > 1) {
      if (top == 0) {
        for (int i = 0; i < n; i++) {
          if (!dead[i]) {
            chain[top++] = i;
            break;
          }
        }
      }
      while (true) {
        int a = chain[top - 1];
        int prev = top >= 2 ? chain[top - 2] : -1;
        // nearest live neighbour of a; prefer prev on ties so the chain terminates
        int best = -1;
        float bestSim = Float.NEGATIVE_INFINITY;
        float[] row = sim[a];
        for (int j = 0; j < n; j++) {
          if (j == a || dead[j]) continue;
          if (row[j] > bestSim || (row[j] == bestSim && j == prev)) {
            bestSim = row[j];
            best = j;
          }
        }
        if (best == prev) {
          top -= 2;
          // merge a and prev into the lower index; Lance–Williams update for average linkage
          int keep = Math.min(a, prev);
          int gone = Math.max(a, prev);
          merges.add(new Merge(keep, gone, bestSim));
          double wk = size[keep];
          double wg = size[gone];
          double tot = wk + wg;
          float[] rk = sim[keep];
          float[] rg = sim[gone];
          for (int j = 0; j < n; j++) {
            if (dead[j] || j == keep || j == gone) continue;
            float v = (float) ((wk * rk[j] + wg * rg[j]) / tot);
            rk[j] = v;
            sim[j][keep] = v;
          }
          size[keep] = tot;
          dead[gone] = true;
          live--;
          break;
        }
        chain[top++] = best;
      }
    }
    merges.sort((x, y) -> Double.compare(y.similarity(), x.similarity()));
    return merges;
  }

  /**
   * Applies the first {@code n - clusters} merges (highest similarity first), or all of them when
   * there are fewer, leaving {@code clusters} clusters: cluster label per item.
   */
  static int[] cut(int n, List<Merge> merges, int clusters) {
    int[] parent = new int[n];
    for (int i = 0; i < n; i++) parent[i] = i;
    for (int k = 0; k < Math.min(merges.size(), n - clusters); k++) {
      Merge m = merges.get(k);
      int ra = find(parent, m.a());
      int rb = find(parent, m.b());
      if (ra != rb) parent[rb] = ra;
    }
    int[] label = new int[n];
    int[] rootLabel = new int[n];
    Arrays.fill(rootLabel, -1);
    int next = 0;
    for (int i = 0; i < n; i++) {
      int r = find(parent, i);
      if (rootLabel[r] < 0) rootLabel[r] = next++;
      label[i] = rootLabel[r];
    }
    return label;
  }

  /** Number of clusters left when merging stops below {@code threshold}. */
  static int countAbove(int n, List<Merge> merges, double threshold) {
    int k = n;
    for (Merge m : merges) {
      if (m.similarity() < threshold) break;
      k--;
    }
    return k;
  }

  private static int find(int[] parent, int i) {
    while (parent[i] != i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  }
}
