package dev.parley.gpu.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.parley.gpu.eval.Rttm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingUtilsTest {
  @TempDir Path dir;

  @Test
  void fftConvolutionMatchesDirect() {
    Random r = new Random(1);
    float[] x = new float[1000];
    float[] h = new float[77];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) r.nextGaussian();
    }
    for (int i = 0; i < h.length; i++) {
      h[i] = (float) r.nextGaussian();
    }
    float[] y = Fft.convolve(x, h);
    for (int n = 0; n < x.length; n += 37) {
      double s = 0;
      for (int k = 0; k < h.length && k <= n; k++) {
        s += x[n - k] * h[k];
      }
      assertEquals(s, y[n], 1e-3);
    }
  }

  @Test
  void rirDecaysAndReverbKeepsLevel() {
    Random r = new Random(2);
    float[] h = Augment.syntheticRir(0.5, 0, r);
    assertEquals(1.0, Augment.rms(h) * Math.sqrt(h.length), 1e-3);
    double early = 0;
    double late = 0;
    for (int i = 100; i < 1100; i++) {
      early += h[i] * h[i];
      late += h[h.length - 1000 + i - 100] * h[h.length - 1000 + i - 100];
    }
    assertTrue(early > 100 * late, "energy must decay by orders of magnitude");
    float[] x = Augment.noise(16000, 0, r);
    assertEquals(Augment.rms(x), Augment.rms(Augment.reverberate(x, h)), 1e-3);
  }

  @Test
  void shapedRirHasItsDrrAndLosesHighFrequenciesFirst() {
    float[] h = Augment.shapedRir(0.6, 3, new Random(5));
    assertEquals(1.0, Augment.rms(h) * Math.sqrt(h.length), 1e-3);
    double reverberant = 1 / (h[0] * h[0]) - 1; // energy after the direct path, relative to it
    assertEquals(-3, 10 * Math.log10(reverberant), 0.01);
    double earlyTilt = highOverLow(h, 800, 3200); // 50-200 ms
    double lateTilt = highOverLow(h, 4800, 7200); // 300-450 ms
    assertTrue(lateTilt < earlyTilt / 3, "high bands must decay faster: " + earlyTilt + " then " + lateTilt);
  }

  /** Energy above 4 kHz over energy below 1 kHz in h[from, to). */
  private static double highOverLow(float[] h, int from, int to) {
    int n = Fft.nextPow2(to - from);
    double[] re = new double[n];
    double[] im = new double[n];
    for (int i = from; i < to; i++) {
      re[i - from] = h[i];
    }
    Fft.transform(re, im, false);
    double high = 0;
    double low = 0;
    for (int k = 1; k < n / 2; k++) {
      double hz = k * 16000.0 / n;
      double p = re[k] * re[k] + im[k] * im[k];
      if (hz > 4000) high += p;
      if (hz < 1000) low += p;
    }
    return high / low;
  }

  @Test
  void speedPerturbationResamples() {
    float[] src = new float[16000];
    for (int i = 0; i < src.length; i++) {
      src[i] = (float) Math.sin(2 * Math.PI * 200 * i / 16000.0);
    }
    float[] fast = Augment.crop(src, 0, 8000, 1.1);
    // a 200 Hz tone played 1.1x fast is 220 Hz: count zero crossings over 0.5 s
    int crossings = 0;
    for (int i = 1; i < fast.length; i++) {
      if ((fast[i - 1] < 0) != (fast[i] < 0)) {
        crossings++;
      }
    }
    assertEquals(220, crossings, 2);
  }

  @Test
  void lowPassAttenuatesHighFrequencies() {
    float[] hi = new float[16000];
    for (int i = 0; i < hi.length; i++) {
      hi[i] = (float) Math.sin(2 * Math.PI * 7000 * i / 16000.0);
    }
    Augment.biquad(hi, 2000, true);
    assertTrue(Augment.rms(hi) < 0.1 * Math.sqrt(0.5));
  }

  @Test
  void trainingFlagsOverrideDefaultsAndRejectMistakes() {
    TrainEmbedding.Options e = TrainEmbedding.Options.parse(new String[] {"--minutes", "3", "--resume", "--channels", "64"});
    assertEquals(3, e.minutes());
    assertTrue(e.resume());
    assertEquals(64, e.net().channels());
    assertEquals(TrainEmbedding.Options.defaults().batch(), e.batch());
    assertFalse(TrainEmbedding.Options.parse(new String[0]).resume());
    assertEquals(0, e.steps(), "a time budget unless --steps is given");
    assertEquals(500, TrainEmbedding.Options.parse(new String[] {"--steps", "500"}).steps());
    assertThrows(IllegalArgumentException.class, () -> TrainEmbedding.Options.parse(new String[] {"--steps", "0"}));
    TrainEmbedding.Options shortCrops =
        TrainEmbedding.Options.parse(new String[] {"--min-frames", "100", "--max-frames", "150"});
    assertEquals(100, shortCrops.minFrames());
    assertEquals(150, shortCrops.maxFrames());
    assertThrows(IllegalArgumentException.class,
        () -> TrainEmbedding.Options.parse(new String[] {"--min-frames", "300", "--max-frames", "150"}));
    assertThrows(IllegalArgumentException.class, () -> TrainEmbedding.Options.parse(new String[] {"--minutes", "-1"}));
    assertThrows(IllegalArgumentException.class, () -> TrainEmbedding.Options.parse(new String[] {"--minute", "1"}));
    assertThrows(IllegalArgumentException.class, () -> TrainEmbedding.Options.parse(new String[] {"--threads"}));
    assertThrows(IllegalArgumentException.class, () -> TrainEmbedding.Options.parse(new String[] {"--threads", "1.5"}));
    assertEquals(0.0, TrainEmbedding.Options.parse(new String[0]).pSpecAugment());
    assertEquals(0.5, TrainEmbedding.Options.parse(new String[] {"--spec-augment", "0.5"}).pSpecAugment());
    assertThrows(IllegalArgumentException.class, () -> TrainEmbedding.Options.parse(new String[] {"--spec-augment", "1.5"}));
    assertThrows(IllegalArgumentException.class, () -> TrainEmbedding.Options.parse(new String[] {"--spec-augment", "some"}));
    assertArrayEquals(new double[] {0.9, 1.0, 1.1}, TrainEmbedding.Options.parse(new String[0]).speeds());
    assertArrayEquals(new double[] {0.85, 1.0, 1.15},
        TrainEmbedding.Options.parse(new String[] {"--speeds", "0.85, 1.0,1.15"}).speeds());
    assertThrows(IllegalArgumentException.class, () -> TrainEmbedding.Options.parse(new String[] {"--speeds", "0.9,fast"}));
    assertThrows(IllegalArgumentException.class, () -> TrainEmbedding.Options.parse(new String[] {"--speeds", "0.9,0"}));
    assertEquals(0.0, TrainEmbedding.Options.parse(new String[0]).pRoomPerCrop());
    assertEquals(0.0, TrainEmbedding.Options.parse(new String[0]).pColour());
    TrainEmbedding.Options anyRoom = TrainEmbedding.Options.parse(new String[] {"--room-per-crop", "1", "--colour", "0.5"});
    assertEquals(1.0, anyRoom.pRoomPerCrop());
    assertEquals(0.5, anyRoom.pColour());
    assertThrows(IllegalArgumentException.class, () -> TrainEmbedding.Options.parse(new String[] {"--colour", "2"}));
    assertFalse(TrainEmbedding.Options.parse(new String[0]).shapedRooms());
    assertTrue(TrainEmbedding.Options.parse(new String[] {"--shaped-rooms"}).shapedRooms());
    assertEquals(20261129L, TrainEmbedding.Options.parse(new String[0]).seed());
    assertEquals(2L, TrainEmbedding.Options.parse(new String[] {"--seed", "2"}).seed());
    assertThrows(IllegalArgumentException.class, () -> TrainEmbedding.Options.parse(new String[] {"--seed", "two"}));
    TrainVad.Options v = TrainVad.Options.parse(new String[] {"--target", "overlap", "--out", "/tmp/x"});
    assertTrue(v.overlap());
    assertEquals(Path.of("/tmp/x"), v.out());
    assertFalse(TrainVad.Options.parse(new String[0]).overlap());
    TrainVad.Options stepped = TrainVad.Options.parse(new String[] {"--steps", "300", "--seed", "9"});
    assertEquals(300, stepped.steps());
    assertEquals(9, stepped.seed());
    assertEquals(0, TrainVad.Options.parse(new String[0]).steps());
    assertThrows(IllegalArgumentException.class, () -> TrainVad.Options.parse(new String[] {"--target", "music"}));
    assertEquals(0, v.sharedRoom());
    assertEquals(0, v.monologues());
    TrainVad.Options rooms = TrainVad.Options.parse(new String[] {"--target", "overlap", "--shared-room", "0.5", "--monologues", "0.3"});
    assertEquals(0.5, rooms.sharedRoom());
    assertEquals(0.3, rooms.monologues());
    assertThrows(IllegalArgumentException.class, () -> TrainVad.Options.parse(new String[] {"--monologues", "1.5"}));
    assertEquals(0, v.tones());
    TrainVad.Options toned = TrainVad.Options.parse(new String[] {"--tones", "0.3"});
    assertEquals(0.3, toned.tones());
    assertTrue(toned.recipe().contains("tonal interference"), toned.recipe());
  }

  /** Hum, beeps and steady tones: as loud as speech, never silent, never beyond full scale, and tonal. */
  @Test
  void tonalInterferenceIsAsLoudAsSpeechAndNarrowBand() {
    Random r = new Random(11);
    for (int k = 0; k < 50; k++) {
      float[] t = Augment.tonal(96_000, r);
      double peak = 0;
      int sounding = 0;
      for (float v : t) {
        peak = Math.max(peak, Math.abs(v));
        if (Math.abs(v) > 1e-4) sounding++;
      }
      assertTrue(peak > 0.001 && peak < 1, "peak " + peak);
      assertTrue(sounding >= 0.08 * 16_000 / 2, "at least one burst sounds");
      // tonal: over the loudest 8192 samples, a few spectral lines hold nearly all the energy
      // (white noise would spread it over all 4096 bins; a Hann window keeps each line narrow)
      int loudest = 0;
      for (int i = 0; i < t.length; i++) if (Math.abs(t[i]) > Math.abs(t[loudest])) loudest = i;
      int from = Math.max(0, Math.min(t.length - 8192, loudest - 4096));
      double[] re = new double[8192];
      double[] im = new double[8192];
      for (int i = 0; i < 8192; i++) re[i] = t[from + i] * (0.5 - 0.5 * Math.cos(2 * Math.PI * i / 8191));
      Fft.transform(re, im, false);
      double[] power = new double[4096];
      for (int i = 0; i < 4096; i++) power[i] = re[i] * re[i] + im[i] * im[i];
      double total = Arrays.stream(power).sum();
      double[] sorted = power.clone();
      Arrays.sort(sorted);
      double top = 0;
      for (int i = 0; i < 64; i++) top += sorted[4095 - i]; // 8 lines of hum with their Hann side bins
      assertTrue(top / total > 0.9, "share of the 64 strongest bins: " + top / total);
    }
  }

  @Test
  void telephoneChannelKeepsTheVoiceBandAndRemovesWhatAnEightKilohertzCallCannotCarry() {
    Random r = new Random(3);
    float[] voice = sine(1000, 16000);
    Augment.telephone(voice, r);
    double inBand = Augment.rms(Arrays.copyOfRange(voice, 1600, 16000));
    assertEquals(Math.sqrt(0.5), inBand, 0.15 * Math.sqrt(0.5), "1 kHz passes at about its level");
    float[] high = sine(6000, 16000);
    Augment.telephone(high, r);
    assertTrue(Augment.rms(Arrays.copyOfRange(high, 1600, 16000)) < 0.01 * Math.sqrt(0.5),
        "6 kHz is gone (below -40 dB)");
    float[] low = sine(60, 16000);
    Augment.telephone(low, r);
    assertTrue(Augment.rms(Arrays.copyOfRange(low, 1600, 16000)) < 0.15 * Math.sqrt(0.5), "mains hum is cut");
    assertEquals(0.2, TrainEmbedding.Options.parse(new String[] {"--telephone", "0.2"}).pTelephone());
    assertThrows(IllegalArgumentException.class, () -> TrainEmbedding.Options.parse(new String[] {"--telephone", "2"}));
  }

  @Test
  void highPassAttenuatesLowFrequencies() {
    float[] lo = sine(100, 16000);
    Augment.biquad(lo, 1000, false);
    assertTrue(Augment.rms(lo) < 0.1 * Math.sqrt(0.5));
  }

  @Test
  void peakingFilterBoostsItsBandAndLeavesOthers() {
    float[] at = sine(1000, 16000);
    Augment.peaking(at, 1000, 6, 1);
    float[] far = sine(6000, 16000);
    Augment.peaking(far, 300, 6, 1);
    // steady state only: skip the filter's start-up
    double boost = 20 * Math.log10(rms(at, 4000) / Math.sqrt(0.5));
    double away = 20 * Math.log10(rms(far, 4000) / Math.sqrt(0.5));
    assertEquals(6, boost, 0.1);
    assertEquals(0, away, 0.2);
  }

  private static float[] sine(double hz, int n) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) Math.sin(2 * Math.PI * hz * i / 16000.0);
    }
    return x;
  }

  private static double rms(float[] x, int from) {
    return Augment.rms(Arrays.copyOfRange(x, from, x.length));
  }

  @Test
  void mixSetsTheRatio() {
    Random r = new Random(3);
    float[] x = Augment.noise(16000, 0, r);
    float[] copy = x.clone();
    float[] n = Augment.noise(16000, 0.9, r);
    Augment.mix(x, n, 10);
    float[] added = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      added[i] = x[i] - copy[i];
    }
    assertEquals(10, 20 * Math.log10(Augment.rms(copy) / Augment.rms(added)), 0.01);
  }

  @Test
  void eerOfSeparatedAndOverlappingScores() {
    assertEquals(0.0, EvaluateEmbedding.eer(List.of(0.9, 0.8, 0.7), List.of(0.1, 0.2, 0.3)), 1e-9);
    assertEquals(1.0, EvaluateEmbedding.eer(List.of(0.1, 0.2), List.of(0.8, 0.9)), 1e-9);
    double e =
        EvaluateEmbedding.eer(List.of(0.9, 0.8, 0.7, 0.35), List.of(0.1, 0.2, 0.3, 0.75));
    assertEquals(0.25, e, 1e-9);
  }

  @Test
  void singleSpeakerRegionsExcludeOverlap() throws Exception {
    Path rttm = dir.resolve("x.rttm");
    Files.writeString(
        rttm,
        "SPEAKER f 1 0.00 2.00 <NA> <NA> A <NA> <NA>\n"
            + "SPEAKER f 1 1.50 2.00 <NA> <NA> B <NA> <NA>\n"
            + "SPEAKER g 1 0.00 5.00 <NA> <NA> C <NA> <NA>\n");
    List<SpeakerRegions.Region> r = SpeakerRegions.singleSpeaker(Rttm.read(rttm), "f", 16000 * 10, 0.2);
    assertEquals(2, r.size());
    assertEquals(new SpeakerRegions.Region("f", "A", 0, 150 * 160), r.get(0));
    assertEquals(new SpeakerRegions.Region("f", "B", 200 * 160, 350 * 160), r.get(1));
    assertEquals(0, SpeakerRegions.singleSpeaker(Rttm.read(rttm), "f", 16000 * 10, 1.6).size());
    assertEquals(1, SpeakerRegions.singleSpeaker(Rttm.read(rttm), "g", 16000 * 10, 1.6).size());
    assertEquals(List.of(), SpeakerRegions.singleSpeaker(Rttm.read(rttm), "h", 16000 * 10, 0.2));
  }

  @Test
  void badFlagsAreRejected() {
    assertEquals(2, TrainEmbedding.run(new String[] {"--bogus", "1"}));
    assertEquals(2, TrainEmbedding.run(new String[] {"--minutes", "-3"}));
    assertEquals(2, TrainEmbedding.run(new String[] {"--minutes"}));
    assertEquals(2, TrainEmbedding.run(new String[] {"--data", dir.resolve("missing").toString()}));
    assertEquals(2, EvaluateEmbedding.run(new String[] {"--what"}));
  }
}
