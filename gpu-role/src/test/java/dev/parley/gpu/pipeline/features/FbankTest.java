package dev.parley.gpu.pipeline.features;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class FbankTest {
  private static Fbank fbank;

  @BeforeAll
  static void setUp() {
    System.setProperty("ai.djl.offline", "true");
    fbank = new Fbank(null);
  }

  @AfterAll
  static void tearDown() {
    fbank.close();
  }

  private static float[] tone(double hz, int n, double amp) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (amp * Math.sin(2 * Math.PI * hz * i / 16000.0));
    }
    return x;
  }

  /** Straightforward per-frame Kaldi fbank in double precision, direct DFT. */
  private static double[][] reference(float[] samples) {
    int frames = Fbank.frameCount(samples.length);
    double[] win = Fbank.poveyWindow();
    float[] banks = Fbank.melBanks();
    double[][] out = new double[frames][80];
    for (int f = 0; f < frames; f++) {
      double[] x = new double[400];
      double mean = 0;
      for (int i = 0; i < 400; i++) {
        x[i] = samples[f * 160 + i] * 32768.0;
        mean += x[i];
      }
      mean /= 400;
      for (int i = 0; i < 400; i++) {
        x[i] -= mean;
      }
      for (int i = 399; i > 0; i--) {
        x[i] -= 0.97 * x[i - 1];
      }
      x[0] -= 0.97 * x[0];
      for (int i = 0; i < 400; i++) {
        x[i] *= win[i];
      }
      double[] power = new double[257];
      for (int k = 0; k < 257; k++) {
        double re = 0;
        double im = 0;
        for (int j = 0; j < 400; j++) {
          re += x[j] * Math.cos(2 * Math.PI * j * k / 512);
          im -= x[j] * Math.sin(2 * Math.PI * j * k / 512);
        }
        power[k] = re * re + im * im;
      }
      for (int b = 0; b < 80; b++) {
        double e = 0;
        for (int k = 0; k < 257; k++) {
          e += power[k] * banks[k * 80 + b];
        }
        out[f][b] = Math.log(Math.max(e, Fbank.LOG_FLOOR));
      }
    }
    return out;
  }

  @Test
  void frameCountFollowsSnipEdges() {
    assertEquals(0, Fbank.frameCount(399));
    assertEquals(1, Fbank.frameCount(400));
    assertEquals(1, Fbank.frameCount(559));
    assertEquals(2, Fbank.frameCount(560));
    assertEquals(98, Fbank.frameCount(16000));
    try (NDManager m = NDManager.newBaseManager()) {
      assertEquals(new Shape(98, 80), fbank.compute(new float[16000], m).getShape());
      assertEquals(new Shape(0, 80), fbank.compute(new float[100], m).getShape());
      assertEquals(new Shape(3, 80), fbank.compute(new float[2000], 100, 100 + 720, m).getShape());
    }
  }

  @Test
  void silenceGivesTheFloor() {
    try (NDManager m = NDManager.newBaseManager()) {
      float[] v = fbank.compute(new float[4000], m).toFloatArray();
      for (float x : v) {
        assertEquals(Math.log(Fbank.LOG_FLOOR), x, 1e-4);
      }
    }
  }

  @Test
  void toneEnergyLandsInItsMelBin() {
    float[] banks = Fbank.melBanks();
    for (double hz : new double[] {300, 1000, 3000, 6500}) {
      int k = (int) Math.round(hz * 512 / 16000.0);
      int expected = 0;
      for (int b = 1; b < 80; b++) {
        if (banks[k * 80 + b] > banks[k * 80 + expected]) {
          expected = b;
        }
      }
      try (NDManager m = NDManager.newBaseManager()) {
        NDArray feats = fbank.compute(tone(hz, 8000, 0.3), m);
        NDArray meanOverFrames = feats.mean(new int[] {0});
        int peak = (int) meanOverFrames.argMax().getLong();
        assertTrue(Math.abs(peak - expected) <= 1, hz + " Hz: peak bin " + peak + " expected " + expected);
      }
    }
  }

  @Test
  void matchesDirectReference() {
    Random rnd = new Random(7);
    float[] x = new float[3000];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (0.1 * rnd.nextGaussian() + 0.2 * Math.sin(i * 0.05) + 0.05);
    }
    double[][] ref = reference(x);
    try (NDManager m = NDManager.newBaseManager()) {
      float[] got = fbank.compute(x, m).toFloatArray();
      assertEquals(ref.length * 80, got.length);
      for (int f = 0; f < ref.length; f++) {
        for (int b = 0; b < 80; b++) {
          assertEquals(ref[f][b], got[f * 80 + b], 2e-3, "frame " + f + " bin " + b);
        }
      }
    }
  }

  @Test
  void blocksMatchSinglePass() {
    Random rnd = new Random(3);
    int n = (Fbank.BLOCK_FRAMES + 250) * 160 + 400;
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (0.05 * rnd.nextGaussian());
    }
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray all = fbank.compute(x, m);
      assertEquals(Fbank.frameCount(n), all.getShape().get(0));
      // the tail block computed alone equals the same frames of the blocked result
      int f0 = Fbank.BLOCK_FRAMES - 10;
      NDArray tail = fbank.compute(x, f0 * 160, n, m);
      assertArrayEquals(
          all.get(f0 + ":").toFloatArray(), tail.toFloatArray(), 1e-3f);
    }
  }

  @Test
  void cmnRemovesTheMean() {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray f = fbank.compute(tone(700, 6000, 0.1), m);
      NDArray c = Fbank.cmn(f);
      float[] mean = c.mean(new int[] {0}).toFloatArray();
      for (float v : mean) {
        assertEquals(0, v, 1e-4);
      }
      NDArray batch = Fbank.cmn(f.expandDims(0));
      assertArrayEquals(c.toFloatArray(), batch.toFloatArray(), 1e-5f);
    }
  }

  @Test
  void badRangeIsRejected() {
    try (NDManager m = NDManager.newBaseManager()) {
      assertThrows(IllegalArgumentException.class, () -> fbank.compute(new float[10], 5, 20, m));
      assertThrows(IllegalArgumentException.class, () -> fbank.compute(null, 0, 0, m));
    }
  }
}
