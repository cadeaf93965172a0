package dev.parley.gpu.pipeline.clustering;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.parley.gpu.pipeline.PipelineParams;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SpeakerClustererTest {
  private static final int DIM = 64;

  /** n unit vectors around k random centres with the given noise; truth in {@code truth}. */
  static float[][] blobs(int n, int k, double noise, long seed, int[] truth) {
    Random r = new Random(seed);
    float[][] centres = new float[k][DIM];
    for (float[] c : centres) for (int j = 0; j < DIM; j++) c[j] = (float) r.nextGaussian();
    float[][] x = new float[n][];
    for (int i = 0; i < n; i++) {
      int c = truth == null ? i % k : (truth[i] = (i * k) / n); // speakers in contiguous stretches
      float[] v = new float[DIM];
      for (int j = 0; j < DIM; j++) v[j] = (float) (centres[c][j] / Math.sqrt(DIM) + noise * r.nextGaussian() / Math.sqrt(DIM));
      x[i] = Similarity.normalize(v);
    }
    return x;
  }

  static double[] ones(int n) {
    double[] w = new double[n];
    Arrays.fill(w, 0.75);
    return w;
  }

  /** Fraction of items whose label agrees with the truth under the best one-to-one mapping (greedy is enough here). */
  static double purity(int[] labels, int[] truth) {
    int kl = Arrays.stream(labels).max().getAsInt() + 1;
    int kt = Arrays.stream(truth).max().getAsInt() + 1;
    int[][] c = new int[kl][kt];
    for (int i = 0; i < labels.length; i++) c[labels[i]][truth[i]]++;
    int ok = 0;
    for (int[] row : c) ok += Arrays.stream(row).max().getAsInt();
    return ok / (double) labels.length;
  }

  /** The synthetic speakers' centres are random: their similarity is ~0 ± 0.15, so 0.5 separates them. */
  static final PipelineParams.Clustering PARAMS = new PipelineParams.Clustering("ahc", 0.5, 20, 2.0, 2.0, 0.2, 2, 4000);

  private final SpeakerClusterer clusterer = new SpeakerClusterer(PARAMS);

  @Test
  void findsTheNumberOfSpeakersWithoutBeingTold() {
    for (int k = 1; k <= 5; k++) {
      int[] truth = new int[120];
      float[][] x = blobs(120, k, 0.6, k, truth);
      Clustering c = clusterer.cluster(x, ones(120), null, null, null);
      assertEquals(k, c.count(), "speakers for k=" + k);
      assertTrue(purity(c.labels(), truth) > 0.95);
      for (float[] centroid : c.centroids()) assertEquals(1.0, Math.sqrt(Similarity.dot(centroid, centroid)), 1e-4);
    }
  }

  @Test
  void honoursAnExactCount() {
    int[] truth = new int[90];
    float[][] x = blobs(90, 3, 0.6, 11, truth);
    assertEquals(2, clusterer.cluster(x, ones(90), 2, null, null).count());
    assertEquals(5, clusterer.cluster(x, ones(90), 5, null, null).count());
    // more speakers requested than items: one per item
    assertEquals(3, clusterer.cluster(Arrays.copyOf(x, 3), ones(3), 7, null, null).count());
  }

  @Test
  void honoursBounds() {
    int[] truth = new int[100];
    float[][] x = blobs(100, 4, 0.6, 5, truth);
    assertEquals(4, clusterer.cluster(x, ones(100), null, 2, 6).count());
    assertEquals(2, clusterer.cluster(x, ones(100), null, null, 2).count());
    int[] truth1 = new int[100];
    float[][] one = blobs(100, 1, 0.6, 6, truth1);
    assertEquals(3, clusterer.cluster(one, ones(100), null, 3, null).count());
  }

  @Test
  void emptyAndSingleInputs() {
    Clustering none = clusterer.cluster(new float[0][], new double[0], null, null, null);
    assertEquals(0, none.count());
    Clustering single = clusterer.cluster(new float[][] {Similarity.normalize(new float[] {1, 2, 3})}, new double[] {1}, null, null, null);
    assertEquals(1, single.count());
    assertEquals(0, single.labels()[0]);
  }

  @Test
  void shortStraysFoldIntoRealSpeakers() {
    int[] truth = new int[80];
    float[][] x = blobs(80, 2, 0.5, 9, truth);
    // one outlier window far from both speakers: 0.75 s, under minClusterSeconds
    Random r = new Random(99);
    float[] odd = new float[DIM];
    for (int j = 0; j < DIM; j++) odd[j] = (float) r.nextGaussian();
    x[40] = Similarity.normalize(odd);
    Clustering c = clusterer.cluster(x, ones(80), null, null, null);
    assertEquals(2, c.count());
  }

  @Test
  void centroidMergingJoinsClustersOfOneSpeaker() {
    // one speaker whose windows drift: two sub-groups with noisy windows (average pairwise
    // similarity low) but close centroids; a second, different speaker
    Random r = new Random(4);
    float[] base = new float[DIM];
    float[] drift = new float[DIM];
    float[] other = new float[DIM];
    for (int j = 0; j < DIM; j++) {
      base[j] = (float) r.nextGaussian();
      drift[j] = (float) r.nextGaussian();
      other[j] = (float) r.nextGaussian();
    }
    int n = 90;
    float[][] x = new float[n][];
    int[] truth = new int[n];
    for (int i = 0; i < n; i++) {
      float[] v = new float[DIM];
      truth[i] = i < 60 ? 0 : 1;
      for (int j = 0; j < DIM; j++) {
        double c = i < 30 ? base[j] + 0.5 * drift[j] : i < 60 ? base[j] - 0.5 * drift[j] : other[j];
        v[j] = (float) (c + 1.0 * r.nextGaussian());
      }
      x[i] = Similarity.normalize(v);
    }
    PipelineParams.Clustering tight = new PipelineParams.Clustering("ahc", 0.45, 20, 2.0, 2.0, 0.2, 2, 4000);
    int split = new SpeakerClusterer(tight).cluster(x, ones(n), null, null, null).count();
    assertTrue(split >= 3, "clusters without centroid merging: " + split);
    PipelineParams.Clustering merged = new PipelineParams.Clustering("ahc", 0.45, 20, 2.0, 0.5, 0.2, 2, 4000);
    Clustering c = new SpeakerClusterer(merged).cluster(x, ones(n), null, null, null);
    assertEquals(2, c.count(), "clusters after centroid merging");
    assertTrue(purity(c.labels(), truth) > 0.9, "purity " + purity(c.labels(), truth));
  }

  @Test
  void longInputsAreReducedAndStayFast() {
    int n = 9000; // about two hours of windows
    int[] truth = new int[n];
    float[][] x = blobs(n, 4, 0.6, 3, truth);
    long t0 = System.nanoTime();
    Clustering c = new SpeakerClusterer(new PipelineParams.Clustering("ahc", 0.5, 20, 2.0, 2.0, 0.2, 2, 1500)).cluster(x, ones(n), null, null, null);
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertEquals(4, c.count());
    assertEquals(n, c.labels().length);
    assertTrue(purity(c.labels(), truth) > 0.95);
    assertTrue(seconds < 20, "took " + seconds + " s");
  }

  @Test
  void dendrogramCutMatchesBruteForceAverageLinkage() {
    // 6 points on a line-like arrangement: merges must follow average linkage order
    float[][] x = blobs(30, 3, 1.0, 21, null);
    double[] w = ones(30);
    var merges = AgglomerativeClustering.dendrogram(x, w);
    assertEquals(29, merges.size());
    for (int i = 1; i < merges.size(); i++) assertTrue(merges.get(i - 1).similarity() >= merges.get(i).similarity() - 1e-6);
    // brute force: repeatedly merge the pair with the highest average similarity
    int n = x.length;
    int[] lab = new int[n];
    for (int i = 0; i < n; i++) lab[i] = i;
    for (int step = 0; step < n - 3; step++) {
      double best = -2;
      int ba = -1, bb = -1;
      int[] ids = Arrays.stream(lab).distinct().toArray();
      for (int a = 0; a < ids.length; a++) {
        for (int b = a + 1; b < ids.length; b++) {
          double s = 0;
          int cnt = 0;
          for (int i = 0; i < n; i++) {
            if (lab[i] != ids[a]) continue;
            for (int j = 0; j < n; j++) if (lab[j] == ids[b]) { s += Similarity.dot(x[i], x[j]); cnt++; }
          }
          if (s / cnt > best) { best = s / cnt; ba = ids[a]; bb = ids[b]; }
        }
      }
      for (int i = 0; i < n; i++) if (lab[i] == bb) lab[i] = ba;
    }
    int[] cut = AgglomerativeClustering.cut(n, merges, 3);
    assertEquals(1.0, purity(cut, SpeakerClusterer.dense(lab)), 1e-9);
  }

  /**
   * QA: on a one-speaker excerpt, minSpeakers 3 gave 6 speakers and "3 to 8" gave 5, more than "5 to 6":
   * the floor lifted the count to where spectral clustering takes over, which then counted up to the ceiling.
   */
  @Test
  void aFloorLiftsTheCountToTheFloorAndNoFurther() {
    float[][] one = blobs(200, 1, 0.9, 7, null);
    SpeakerClusterer auto = new SpeakerClusterer(PipelineParams.Clustering.defaults());
    assertEquals("auto", PipelineParams.Clustering.defaults().method());
    assertEquals(1, auto.cluster(one, ones(200), null, null, null).count());
    assertEquals(3, auto.cluster(one, ones(200), null, 3, null).count());
    assertEquals(3, auto.cluster(one, ones(200), null, 3, 8).count());
    assertEquals(4, auto.cluster(one, ones(200), null, 4, null).count());
    assertEquals(5, auto.cluster(one, ones(200), null, 5, 6).count());
  }

  /** A review: minSpeakers above the default ceiling (20) was honoured, then undone by the spectral step capped at 20. */
  @Test
  void aFloorAboveTheDefaultCeilingIsHonoured() {
    int speakers = 30;
    int per = 20;
    int dim = 64;
    Random r = new Random(1);
    float[][] centres = new float[speakers][dim];
    for (float[] c : centres) for (int j = 0; j < dim; j++) c[j] = (float) r.nextGaussian();
    float[][] e = new float[speakers * per][];
    double[] w = new double[e.length];
    for (int i = 0; i < e.length; i++) {
      float[] v = new float[dim];
      for (int j = 0; j < dim; j++) v[j] = centres[i / per][j] + 0.1f * (float) r.nextGaussian();
      e[i] = Similarity.normalize(v);
      w[i] = 0.75;
    }
    Clustering c = new SpeakerClusterer(PipelineParams.Clustering.defaults()).cluster(e, w, null, 25, null);
    assertTrue(c.count() >= 25, "minSpeakers 25 gave " + c.count() + " speakers");
  }
}
