package dev.parley.gpu.pipeline.clustering;

import dev.parley.gpu.pipeline.PipelineParams;
import java.util.Arrays;
import java.util.List;

/**
 * Groups window embeddings into speakers when the number of speakers is unknown: average-linkage
 * agglomerative clustering on cosine similarity, stopped at a similarity threshold, then clusters
 * that hold less than {@code minClusterSeconds} of speech are folded into their nearest larger
 * cluster (short, noisy windows do not become speakers of their own). A requested count
 * ({@code numSpeakers}) cuts the dendrogram at that count instead; {@code minSpeakers} and
 * {@code maxSpeakers} bound the count the threshold gives. Long recordings are first reduced to
 * at most {@code maxItems} items by averaging runs of consecutive windows, keeping time and memory
 * bounded (an n×n float matrix). Stateless and thread-safe.
 */
public final class SpeakerClusterer {
  private final PipelineParams.Clustering params;
  private final int maxItems;

  /** Spectral clustering decomposes an n×n Laplacian per candidate: keep n small. */
  static final int SPECTRAL_MAX_ITEMS = 400;

  public SpeakerClusterer(PipelineParams.Clustering params) {
    this(params, params.method().equals("spectral") ? SPECTRAL_MAX_ITEMS : 4000);
  }

  SpeakerClusterer(PipelineParams.Clustering params, int maxItems) {
    this.params = params;
    this.maxItems = maxItems;
  }

  /**
   * @param embeddings L2-normalised embeddings in time order
   * @param weights seconds of speech each embedding stands for
   * @param numSpeakers exact count, or null
   * @param minSpeakers lower bound, or null
   * @param maxSpeakers upper bound, or null (then {@code params.maxSpeakers()})
   */
  public Clustering cluster(float[][] embeddings, double[] weights, Integer numSpeakers, Integer minSpeakers, Integer maxSpeakers) {
    int n = embeddings.length;
    if (weights.length != n) throw new IllegalArgumentException("one weight per embedding expected");
    if (n == 0) return new Clustering(new int[0], 0, new float[0][]);
    // reduce long inputs: average runs of g consecutive windows
    int g = (n + maxItems - 1) / maxItems;
    float[][] items = embeddings;
    double[] w = weights;
    if (g > 1) {
      int m = (n + g - 1) / g;
      items = new float[m][];
      w = new double[m];
      for (int k = 0; k < m; k++) {
        int from = k * g;
        int to = Math.min(n, from + g);
        int[] lab = new int[to - from];
        float[][] part = Arrays.copyOfRange(embeddings, from, to);
        double[] pw = Arrays.copyOfRange(weights, from, to);
        items[k] = Similarity.centroids(part, pw, lab, 1)[0];
        for (double x : pw) w[k] += x;
      }
    }
    int m = items.length;
    int lo = minSpeakers != null ? minSpeakers : 1;
    int hi = maxSpeakers != null ? maxSpeakers : params.maxSpeakers();
    int[] labels;
    if (m == 1) {
      labels = new int[1];
    } else if (params.method().equals("spectral")) {
      int exact = numSpeakers != null ? numSpeakers : 0;
      labels = SpectralClustering.cluster(items, exact, lo, Math.min(hi, m), 42).labels();
      if (numSpeakers == null) labels = foldSmall(items, w, labels, Math.min(lo, m));
    } else {
      List<AgglomerativeClustering.Merge> merges = AgglomerativeClustering.dendrogram(items, w);
      int k;
      if (numSpeakers != null) {
        k = numSpeakers;
      } else {
        k = AgglomerativeClustering.countAbove(m, merges, params.threshold());
        k = Math.max(lo, Math.min(hi, k));
      }
      k = Math.max(1, Math.min(m, k));
      labels = AgglomerativeClustering.cut(m, merges, k);
      if (numSpeakers == null) {
        labels = mergeCentroids(items, w, labels, Math.min(lo, m));
        labels = foldSmall(items, w, labels, Math.min(lo, m));
      }
    }
    int count = Arrays.stream(labels).max().orElse(-1) + 1;
    float[][] centroids = Similarity.centroids(items, w, labels, count);
    int[] full = labels;
    if (g > 1) {
      full = new int[n];
      for (int i = 0; i < n; i++) full[i] = labels[i / g];
      centroids = Similarity.centroids(embeddings, weights, full, count);
    }
    return new Clustering(full, count, centroids);
  }

  /**
   * Merges the two clusters with the most similar centroids while that similarity exceeds
   * {@code centroidThreshold} and more than {@code minCount} clusters remain.
   */
  int[] mergeCentroids(float[][] e, double[] w, int[] labels, int minCount) {
    if (params.centroidThreshold() > 1) return labels;
    int[] lab = dense(labels);
    while (true) {
      int count = Arrays.stream(lab).max().orElse(-1) + 1;
      if (count <= Math.max(1, minCount)) return lab;
      float[][] c = Similarity.centroids(e, w, lab, count);
      int ba = -1;
      int bb = -1;
      float best = Float.NEGATIVE_INFINITY;
      for (int a = 0; a < count; a++) {
        for (int b = a + 1; b < count; b++) {
          float s = Similarity.dot(c[a], c[b]);
          if (s > best) {
            best = s;
            ba = a;
            bb = b;
          }
        }
      }
      if (best <= params.centroidThreshold()) return lab;
      for (int i = 0; i < lab.length; i++) if (lab[i] == bb) lab[i] = ba;
      lab = dense(lab);
    }
  }

  /**
   * Clusters under {@code minClusterSeconds} join the nearest cluster that is not small, smallest
   * first, while more than {@code minCount} clusters remain. Labels are renumbered densely.
   */
  int[] foldSmall(float[][] e, double[] w, int[] labels, int minCount) {
    int count = Arrays.stream(labels).max().orElse(-1) + 1;
    double[] mass = new double[count];
    for (int i = 0; i < labels.length; i++) mass[labels[i]] += w[i];
    boolean[] big = new boolean[count];
    int bigCount = 0;
    for (int k = 0; k < count; k++) {
      big[k] = mass[k] >= params.minClusterSeconds();
      if (big[k]) bigCount++;
    }
    if (bigCount == 0 || bigCount == count) return dense(labels);
    float[][] c = Similarity.centroids(e, w, labels, count);
    int[] target = new int[count];
    int remaining = count;
    Integer[] order = new Integer[count];
    for (int k = 0; k < count; k++) order[k] = k;
    Arrays.sort(order, (a, b) -> Double.compare(mass[a], mass[b]));
    for (int k = 0; k < count; k++) target[k] = k;
    for (int k : order) {
      if (big[k] || remaining <= minCount) continue;
      int best = -1;
      float bestSim = Float.NEGATIVE_INFINITY;
      for (int j = 0; j < count; j++) {
        if (!big[j]) continue;
        float s = Similarity.dot(c[k], c[j]);
        if (s > bestSim) {
          bestSim = s;
          best = j;
        }
      }
      target[k] = best;
      remaining--;
    }
    int[] out = new int[labels.length];
    for (int i = 0; i < labels.length; i++) out[i] = target[labels[i]];
    return dense(out);
  }

  /** Renumbers labels 0..k-1 in order of first appearance. */
  static int[] dense(int[] labels) {
    int max = Arrays.stream(labels).max().orElse(-1);
    int[] map = new int[max + 1];
    Arrays.fill(map, -1);
    int next = 0;
    int[] out = new int[labels.length];
    for (int i = 0; i < labels.length; i++) {
      if (map[labels[i]] < 0) map[labels[i]] = next++;
      out[i] = map[labels[i]];
    }
    return out;
  }
}
