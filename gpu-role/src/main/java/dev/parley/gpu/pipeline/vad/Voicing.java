package dev.parley.gpu.pipeline.vad;

/**
 * The voicing check that the energy VAD and parley-vad run on their speech runs: a run in which too
 * few frames are voiced (periodic in the pitch range) is noise that passed the detector (a door, a
 * keyboard, a fan's change), not speech.
 */
final class Voicing {
  /** Samples per 10 ms frame after {@link #decimate}. */
  static final int DECIMATION = 4;
  private static final int PITCH_HOP = SpeechMask.SAMPLES_PER_FRAME / DECIMATION;
  private static final int PITCH_WINDOW = 160; // 40 ms at 4 kHz
  private static final int MIN_LAG = 10; // 400 Hz at 4 kHz
  private static final int MAX_LAG = 80; // 50 Hz

  private Voicing() {}

  /**
   * Drops the runs of {@code mask} in which fewer than {@code minFraction} of the frames are voiced
   * (normalised autocorrelation at least {@code threshold} at some pitch lag); 0 keeps every run.
   * Each run is judged with {@code padSeconds} of context on both sides, the stretch the pipeline
   * embeds ({@code vad.padSeconds}).
   */
  static SpeechMask voicedOnly(float[] samples, SpeechMask mask, double threshold, double minFraction,
      double padSeconds) {
    if (minFraction <= 0 || mask.speechFrames() == 0) return mask;
    float[] pitchBand = decimate(samples);
    double[] window = new double[PITCH_WINDOW];
    boolean[] out = mask.toArray();
    int pad = (int) Math.round(padSeconds / SpeechMask.FRAME_SECONDS);
    for (SpeechMask.Region r : mask.regions()) {
      int from = Math.max(0, r.start() - pad);
      int to = Math.min(mask.length(), r.end() + pad);
      double needed = minFraction * (to - from);
      int voiced = 0;
      for (int f = from; f < to && voiced < needed; f++) {
        if (voicing(pitchBand, f, window) >= threshold) voiced++;
      }
      if (voiced < needed) {
        for (int f = r.start(); f < r.end(); f++) out[f] = false;
      }
    }
    return new SpeechMask(out);
  }

  /**
   * 60–1000 Hz band, where the pitch of voiced speech lives, at 4 kHz: a high-pass and two
   * low-pass biquads in one pass, keeping every fourth output (a quarter of the input's memory, not
   * filtered copies of a whole recording).
   */
  static float[] decimate(float[] x) {
    double[][] c = {EnergyVad.highPass(60), EnergyVad.lowPass(1000), EnergyVad.lowPass(1000)};
    double[][] state = new double[c.length][4]; // x1, x2, y1, y2 of each stage
    float[] out = new float[x.length / DECIMATION];
    for (int i = 0; i < out.length * DECIMATION; i++) {
      double v = x[i];
      for (int k = 0; k < c.length; k++) {
        double[] q = c[k];
        double[] st = state[k];
        double y = q[0] * v + q[1] * st[0] + q[2] * st[1] - q[3] * st[2] - q[4] * st[3];
        st[1] = st[0];
        st[0] = v;
        st[3] = st[2];
        st[2] = y;
        v = y;
      }
      if (i % DECIMATION == 0) out[i / DECIMATION] = (float) v;
    }
    return out;
  }

  /**
   * Strongest normalised autocorrelation of the 40 ms around frame {@code f} over pitch lags
   * (2.5–20 ms), corrected for the shrinking overlap at longer lags: near 1 for a periodic signal,
   * low for noise; 0 for silence or where the window does not fit.
   */
  static float voicing(float[] y, int f) {
    return voicing(y, f, new double[PITCH_WINDOW]);
  }

  /** {@link #voicing(float[], int)} working in {@code w}, a scratch array of the window's length. */
  private static float voicing(float[] y, int f, double[] w) {
    int c = f * PITCH_HOP + PITCH_HOP / 2;
    int s = c - PITCH_WINDOW / 2;
    if (s < 0 || s + PITCH_WINDOW > y.length) return 0;
    double mean = 0;
    for (int i = s; i < s + PITCH_WINDOW; i++) mean += y[i];
    mean /= PITCH_WINDOW;
    double energy = 0;
    for (int i = 0; i < PITCH_WINDOW; i++) {
      w[i] = y[s + i] - mean;
      energy += w[i] * w[i];
    }
    if (energy <= 1e-12) return 0;
    double best = 0;
    for (int lag = MIN_LAG; lag <= MAX_LAG; lag++) {
      double r = 0;
      for (int i = 0; i + lag < PITCH_WINDOW; i++) r += w[i] * w[i + lag];
      best = Math.max(best, r / energy / (1 - (double) lag / PITCH_WINDOW));
    }
    return (float) best;
  }
}
