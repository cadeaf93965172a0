package dev.parley.gpu.pipeline.clustering;

import dev.parley.gpu.pipeline.PipelineParams;
import java.util.Arrays;
import java.util.List;

/**
 * Groups window embeddings into speakers. Average-linkage agglomerative clustering on cosine
 * similarity is cut where the linkage falls below {@code threshold}; clusters that hold less than
 * {@code minClusterSeconds} of speech are folded into their nearest larger cluster (short, noisy
 * windows do not become speakers of their own). With {@code ahc} that is the answer. With
 * {@code spectral} it only decides whether there is more than one speaker: if two or more clusters
 * remain, {@link SpectralClustering} finds the count and the groups. With {@code auto} (the
 * default) spectral clustering takes over only when agglomerative clustering finds
 * {@code spectralFrom} speakers or more (three): a threshold over-splits the noisy short windows of
 * many talkers, where the eigengap counts them better, but spectral clustering splits a dominant
 * talker of distant meeting audio from a second speaker. A requested count ({@code numSpeakers}) is used as
 * given; {@code minSpeakers} and {@code maxSpeakers} bound the
 * estimated count. Long recordings are reduced to at most {@code maxItems} items (and at most
 * {@link #SPECTRAL_MAX_ITEMS} for the spectral step) by averaging runs of consecutive windows,
 * keeping time and memory bounded. Stateless and thread-safe.
 */
public final class SpeakerClusterer {
  private final PipelineParams.Clustering params;

  /** Spectral clustering decomposes n×n Laplacians (O(n^3)): it sees at most this many items. */
  static final int SPECTRAL_MAX_ITEMS = 400;

  /**
   * Fewer items than this (a recording with seconds of speech) keep the agglomerative count: the
   * eigengap of a handful of items is noise (three windows of three distinct voices came out as two).
   */
  static final int SPECTRAL_MIN_ITEMS = 10;

  public SpeakerClusterer(PipelineParams.Clustering params) {
    this.params = params;
  }

  /** Items standing for runs of {@code group} consecutive embeddings (their weighted mean). */
  private record Reduced(float[][] items, double[] weights, int group) {
    static Reduced of(float[][] e, double[] w, int maxItems) {
      int n = e.length;
      int g = (n + maxItems - 1) / maxItems;
      if (g <= 1) return new Reduced(e, w, 1);
      int m = (n + g - 1) / g;
      float[][] items = new float[m][];
      double[] iw = new double[m];
      for (int k = 0; k < m; k++) {
        int from = k * g;
        int to = Math.min(n, from + g);
        double[] pw = Arrays.copyOfRange(w, from, to);
        items[k] = Similarity.centroids(Arrays.copyOfRange(e, from, to), pw, new int[to - from], 1)[0];
        for (double x : pw) iw[k] += x;
      }
      return new Reduced(items, iw, g);
    }

    /** Gives each of the {@code n} original embeddings its item's label. */
    int[] expand(int[] labels, int n) {
      if (group == 1) return labels;
      int[] full = new int[n];
      for (int i = 0; i < n; i++) full[i] = labels[i / group];
      return full;
    }
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
    // long inputs are reduced by averaging runs of consecutive windows
    Reduced reduced = Reduced.of(embeddings, weights, params.maxItems());
    float[][] items = reduced.items();
    double[] w = reduced.weights();
    int m = items.length;
    int lo = minSpeakers != null ? minSpeakers : 1;
    // the default ceiling gives way to a floor asked for above it (minSpeakers 25 without maxSpeakers)
    int hi = maxSpeakers != null ? maxSpeakers : Math.max(params.maxSpeakers(), lo);
    int[] labels;
    boolean spectral = params.method().equals("spectral");
    boolean auto = params.method().equals("auto");
    if (m == 1) {
      labels = new int[1];
    } else if (spectral && numSpeakers != null) {
      labels = spectral(items, w, numSpeakers, lo, hi);
    } else {
      List<AgglomerativeClustering.Merge> merges = AgglomerativeClustering.dendrogram(items, w);
      // how many speakers the threshold finds by itself: a floor that lifts the count does not make a
      // recording one for spectral clustering (which would then count freely up to the ceiling)
      int counted = numSpeakers != null ? numSpeakers : AgglomerativeClustering.countAbove(m, merges, params.threshold());
      int k = numSpeakers != null ? numSpeakers : Math.max(lo, Math.min(hi, counted));
      k = Math.max(1, Math.min(m, k));
      labels = AgglomerativeClustering.cut(m, merges, k);
      if (numSpeakers == null) {
        labels = mergeCentroids(items, w, labels, Math.min(lo, m));
        labels = foldSmall(items, w, labels, Math.min(lo, m));
      }
      int found = Arrays.stream(labels).max().orElse(0) + 1;
      if (numSpeakers == null && m >= SPECTRAL_MIN_ITEMS
          && ((spectral && found >= 2) || (auto && found >= params.spectralFrom() && counted >= params.spectralFrom()))) {
        labels = foldSmall(items, w, spectral(items, w, 0, lo, hi), Math.min(lo, m));
      }
    }
    int count = Arrays.stream(labels).max().orElse(-1) + 1;
    int[] full = reduced.expand(labels, n);
    return new Clustering(full, count, Similarity.centroids(embeddings, weights, full, count));
  }

  /**
   * Spectral clustering of the items (of at most {@link #SPECTRAL_MAX_ITEMS} averages of them):
   * {@code exact} speakers, or 0 to estimate the count within {@code [lo, hi]}.
   */
  private int[] spectral(float[][] items, double[] w, int exact, int lo, int hi) {
    Reduced few = Reduced.of(items, w, SPECTRAL_MAX_ITEMS);
    int[] labels = SpectralClustering.cluster(few.items(), exact, lo, Math.min(hi, few.items().length),
        params.pruneFraction(), 42);
    return few.expand(labels, items.length);
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
