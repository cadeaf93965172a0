package dev.parley.gpu.pipeline.clustering;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.parley.gpu.pipeline.PipelineParams;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SpectralClusteringTest {
  @Test
  void eigenDecompositionReconstructsTheMatrix() {
    Random r = new Random(1);
    int n = 12;
    double[][] a = new double[n][n];
    for (int i = 0; i < n; i++) for (int j = i; j < n; j++) a[i][j] = a[j][i] = r.nextGaussian();
    SymmetricEigen eig = new SymmetricEigen(a);
    for (int i = 1; i < n; i++) assertTrue(eig.values[i] >= eig.values[i - 1]);
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int k = 0; k < n; k++) s += eig.vectors[i][k] * eig.values[k] * eig.vectors[j][k];
        assertEquals(a[i][j], s, 1e-9);
      }
    }
    // a diagonal matrix's eigenvalues are its entries
    SymmetricEigen d = new SymmetricEigen(new double[][] {{3, 0}, {0, -1}});
    assertEquals(-1, d.values[0], 1e-12);
    assertEquals(3, d.values[1], 1e-12);
  }

  static final PipelineParams.Clustering SPECTRAL = PipelineParams.defaults().with("clustering.method=spectral").clustering();

  @Test
  void eigengapFindsTheCount() {
    PipelineParams.Clustering p = new PipelineParams.Clustering("spectral", 0.5, 20, 2.0, 2.0, 0.2, 2, 4000);
    SpeakerClusterer c = new SpeakerClusterer(p);
    for (int k = 2; k <= 5; k++) {
      int[] truth = new int[120];
      float[][] x = SpeakerClustererTest.blobs(120, k, 0.7, 40 + k, truth);
      Clustering res = c.cluster(x, SpeakerClustererTest.ones(120), null, null, null);
      assertEquals(k, res.count(), "k=" + k);
      assertTrue(SpeakerClustererTest.purity(res.labels(), truth) > 0.95);
    }
    int[] truth = new int[60];
    float[][] x = SpeakerClustererTest.blobs(60, 3, 0.7, 7, truth);
    assertEquals(2, c.cluster(x, SpeakerClustererTest.ones(60), 2, null, null).count());
    assertEquals(3, c.cluster(x, SpeakerClustererTest.ones(60), null, null, 3).count());
  }

  @Test
  void longInputsStayBounded() {
    int n = 5000;
    int[] truth = new int[n];
    float[][] x = SpeakerClustererTest.blobs(n, 3, 0.7, 5, truth);
    long t0 = System.nanoTime();
    Clustering res = new SpeakerClusterer(new PipelineParams.Clustering("spectral", 0.5, 20, 2.0, 2.0, 0.2, 2, 4000))
        .cluster(x, SpeakerClustererTest.ones(n), null, null, null);
    assertEquals(3, res.count());
    assertTrue(SpeakerClustererTest.purity(res.labels(), truth) > 0.95);
    assertTrue((System.nanoTime() - t0) / 1e9 < 30);
  }

  /**
   * Windows as noisy as 1.5 s windows of unheard talkers in a reverberant room (same talker ~0.25
   * cosine, different ~0): spectral clustering separates four talkers where a 0.2 threshold
   * over-splits them; and a lone talker whose windows are as alike as a held-out LibriSpeech
   * talker's (0.41 on average) stays one.
   */
  @Test
  void noisyTalkers() {
    SpeakerClusterer c = new SpeakerClusterer(SPECTRAL);
    for (long seed = 1; seed <= 5; seed++) {
      int[] truth = new int[80];
      float[][] x = SpeakerClustererTest.blobs(80, 4, 1.7, seed, truth);
      Clustering res = c.cluster(x, SpeakerClustererTest.ones(80), null, null, null);
      assertEquals(4, res.count(), "seed " + seed);
      assertTrue(SpeakerClustererTest.purity(res.labels(), truth) > 0.9, "seed " + seed);
      Clustering ahc = new SpeakerClusterer(PipelineParams.defaults().with("clustering.method=ahc").clustering())
          .cluster(x, SpeakerClustererTest.ones(80), null, null, null);
      assertTrue(ahc.count() > 4, "the threshold alone over-splits, seed " + seed);
      float[][] one = SpeakerClustererTest.blobs(80, 1, 1.2, seed, null);
      assertEquals(1, c.cluster(one, SpeakerClustererTest.ones(80), null, null, null).count(), "seed " + seed);
    }
  }

  /**
   * The default ({@code auto}) hands over to spectral clustering only when the threshold finds
   * three or more speakers. A talker whose windows fall into two groups (say, near and away from the
   * microphone; 0.35 alike across the groups) beside a second talker: the threshold keeps that
   * talker whole, while the pruned graph of spectral clustering sees three groups and splits them,
   * as it split dominant talkers in distant meeting audio. Four noisy talkers the threshold
   * over-splits are still counted by spectral clustering.
   */
  @Test
  void spectralClusteringTakesOverFromThreeSpeakersByDefault() {
    Random r = new Random(3);
    int dim = 32;
    double c = Math.sqrt(0.65 / 1.35); // cos(u + cv, u - cv) = (1 - c²) / (1 + c²) = 0.35
    float[][] x = new float[120][];
    int[] truth = new int[120];
    for (int i = 0; i < 120; i++) {
      float[] v = new float[dim];
      int group = i / 40; // 0 and 1: talker A's two groups; 2: talker B
      truth[i] = group == 2 ? 1 : 0;
      if (group == 2) v[2] = 1;
      else {
        v[0] = 1;
        v[1] = (float) (group == 0 ? c : -c);
      }
      for (int j = 0; j < dim; j++) v[j] += (float) (0.08 * r.nextGaussian());
      x[i] = Similarity.normalize(v);
    }
    double[] w = SpeakerClustererTest.ones(120);
    Clustering byDefault = new SpeakerClusterer(PipelineParams.Clustering.defaults()).cluster(x, w, null, null, null);
    assertEquals(2, byDefault.count());
    assertTrue(SpeakerClustererTest.purity(byDefault.labels(), truth) > 0.99);
    assertEquals(3, new SpeakerClusterer(SPECTRAL).cluster(x, w, null, null, null).count(),
        "spectral clustering from two speakers splits talker A");

    for (long seed = 1; seed <= 3; seed++) {
      int[] four = new int[80];
      float[][] noisy = SpeakerClustererTest.blobs(80, 4, 1.7, seed, four);
      Clustering res = new SpeakerClusterer(PipelineParams.Clustering.defaults()).cluster(noisy, SpeakerClustererTest.ones(80), null, null, null);
      assertEquals(4, res.count(), "seed " + seed);
    }
  }

  @Test
  void autoCopesWithAsFewItemsAsSpeakers() {
    SpeakerClusterer c = new SpeakerClusterer(PipelineParams.Clustering.defaults());
    for (int n = 3; n <= 5; n++) {
      float[][] x = new float[n][8];
      for (int i = 0; i < n; i++) x[i][i] = 1; // n windows, each its own speaker
      double[] w = new double[n];
      Arrays.fill(w, 5.0);
      Clustering res = c.cluster(x, w, null, null, null);
      assertEquals(n, res.count(), "n=" + n + " windows, each its own speaker");
      assertEquals(n, res.labels().length);
      assertEquals(2, c.cluster(x, w, null, null, 2).count(), "maxSpeakers bounds the count, n=" + n);
    }
  }
}
