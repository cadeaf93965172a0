package dev.parley.gpu.pipeline.vad;

import static dev.parley.gpu.pipeline.audio.AudioDecoder.SAMPLE_RATE;

import dev.parley.gpu.pipeline.PipelineParams;

/**
 * The fallback VAD ({@code PARLEY_VAD_MODEL=energy}), which needs no model; Parley's own
 * {@link NeuralVad} ({@code parley-vad}) is the default. Band-limited (200–4000 Hz) frame energy
 * (25 ms windows every 10 ms), compared with a noise floor and a speech level that adapt over a
 * sliding window (low and high percentiles of the local energies, kept at least
 * {@code energyMinRangeDb} apart), with hysteresis and duration smoothing. Energy alone cannot
 * tell speech from other sounds, so each resulting run must also be voiced: speech is largely
 * periodic (vocal-fold pitch, 50–400 Hz), fans, rustle and keyboards are not. A run in which fewer
 * than {@code energyMinVoicedFraction} of the frames reach a normalised autocorrelation of
 * {@code energyVoicedThreshold} at some pitch lag is dropped. Voiced background talk still passes;
 * {@link NeuralVad} and Silero VAD ({@link SileroVad}) are stronger.
 * Stateless and thread-safe.
 */
public final class EnergyVad implements VoiceActivityDetector {
  static final int WINDOW = 400; // 25 ms
  static final int HOP = SpeechMask.SAMPLES_PER_FRAME;
  private static final double MIN_DB = -120;
  private static final double BIN_DB = 0.5;
  private static final int BINS = (int) (-MIN_DB / BIN_DB) + 1;

  /** How {@code PARLEY_VAD_MODEL} names this detector. */
  public static final String NAME = "energy";

  private final PipelineParams.Vad params;

  public EnergyVad(PipelineParams.Vad params) {
    this.params = params;
  }

  @Override
  public String id() {
    return "energy-vad";
  }

  @Override
  public String version() {
    return "2";
  }

  @Override
  public double turnPadSeconds() {
    return params.energyTurnPadSeconds();
  }

  @Override
  public SpeechMask detect(float[] samples) {
    float[] db = frameEnergyDb(samples);
    float[] score = relativeScores(db);
    SpeechMask mask = SpeechMask.fromScores(score, params.energyOnset(), params.energyOffset(),
        params.minSpeechSeconds(), params.minSilenceSeconds());
    return Voicing.voicedOnly(samples, mask, params.energyVoicedThreshold(), params.energyMinVoicedFraction(),
        params.padSeconds());
  }

  /** Band-passed frame energies in dBFS (full scale sine = -3 dB), smoothed over 50 ms. */
  static float[] frameEnergyDb(float[] x) {
    int frames = SpeechMask.frameCount(x.length);
    float[] y = bandPass(x);
    double[] raw = new double[frames];
    for (int f = 0; f < frames; f++) {
      int c = f * HOP + HOP / 2; // window centred on the 10 ms frame
      int s = Math.max(0, c - WINDOW / 2);
      int e = Math.min(y.length, c + WINDOW / 2);
      double sum = 0;
      for (int i = s; i < e; i++) sum += (double) y[i] * y[i];
      double mean = e > s ? sum / (e - s) : 0;
      raw[f] = Math.max(MIN_DB, 10 * Math.log10(mean + 1e-30));
    }
    float[] out = new float[frames];
    for (int f = 0; f < frames; f++) {
      double s = 0;
      int n = 0;
      for (int k = Math.max(0, f - 2); k <= Math.min(frames - 1, f + 2); k++) {
        s += raw[k];
        n++;
      }
      out[f] = (float) (s / n);
    }
    return out;
  }

  /** Second-order Butterworth high-pass at 200 Hz followed by a low-pass at 4 kHz. */
  static float[] bandPass(float[] x) {
    float[] y = biquad(x, highPass(200));
    return biquad(y, lowPass(4000));
  }

  static double[] highPass(double fc) {
    double w = 2 * Math.PI * fc / SAMPLE_RATE;
    double alpha = Math.sin(w) / (2 * Math.sqrt(0.5));
    double cos = Math.cos(w);
    double a0 = 1 + alpha;
    return new double[] {(1 + cos) / 2 / a0, -(1 + cos) / a0, (1 + cos) / 2 / a0, -2 * cos / a0, (1 - alpha) / a0};
  }

  static double[] lowPass(double fc) {
    double w = 2 * Math.PI * fc / SAMPLE_RATE;
    double alpha = Math.sin(w) / (2 * Math.sqrt(0.5));
    double cos = Math.cos(w);
    double a0 = 1 + alpha;
    return new double[] {(1 - cos) / 2 / a0, (1 - cos) / a0, (1 - cos) / 2 / a0, -2 * cos / a0, (1 - alpha) / a0};
  }

  private static float[] biquad(float[] x, double[] c) {
    float[] y = new float[x.length];
    double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
    for (int i = 0; i < x.length; i++) {
      double v = c[0] * x[i] + c[1] * x1 + c[2] * x2 - c[3] * y1 - c[4] * y2;
      x2 = x1;
      x1 = x[i];
      y2 = y1;
      y1 = v;
      y[i] = (float) v;
    }
    return y;
  }

  /** Each frame's position between the local floor and the local speech level, 0..1. */
  float[] relativeScores(float[] db) {
    int n = db.length;
    float[] score = new float[n];
    if (n == 0) return score;
    int half = (int) Math.round(params.energyWindowSeconds() / SpeechMask.FRAME_SECONDS / 2);
    int[] hist = new int[BINS];
    int count = 0;
    int lo = 0;
    int hi = -1; // window [lo, hi]
    int step = 100; // re-estimate once a second
    for (int c = 0; c < n; c += step) {
      int wantLo = Math.max(0, c - half);
      int wantHi = Math.min(n - 1, c + half);
      while (hi < wantHi) {
        hi++;
        hist[bin(db[hi])]++;
        count++;
      }
      while (lo < wantLo) {
        hist[bin(db[lo])]--;
        count--;
        lo++;
      }
      double floor = percentile(hist, count, params.energyFloorPercentile());
      double peak = Math.max(percentile(hist, count, params.energyPeakPercentile()), floor + params.energyMinRangeDb());
      for (int f = c; f < Math.min(n, c + step); f++) {
        double s = db[f] < params.energyAbsoluteFloorDb() ? 0 : (db[f] - floor) / (peak - floor);
        score[f] = (float) Math.max(0, Math.min(1, s));
      }
    }
    return score;
  }

  private static int bin(float db) {
    int b = (int) ((db - MIN_DB) / BIN_DB);
    return Math.max(0, Math.min(BINS - 1, b));
  }

  private static double percentile(int[] hist, int count, double p) {
    long target = (long) Math.ceil(p / 100.0 * count);
    long acc = 0;
    for (int b = 0; b < hist.length; b++) {
      acc += hist[b];
      if (acc >= Math.max(1, target)) return MIN_DB + (b + 0.5) * BIN_DB;
    }
    return 0;
  }

  @Override
  public void close() {
    // nothing held
  }
}
