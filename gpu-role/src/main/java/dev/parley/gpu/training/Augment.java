package dev.parley.gpu.training;

import static dev.parley.gpu.pipeline.audio.AudioDecoder.SAMPLE_RATE;

import java.util.Random;

/** Waveform augmentation toward far-field meeting speech. All methods are pure functions of their inputs. */
public final class Augment {
  private Augment() {}

  /**
   * A synthetic room impulse response: a direct path followed by exponentially decaying Gaussian
   * noise reaching -60 dB after {@code rt60} seconds, with direct-to-reverberant ratio {@code
   * drrDb}. Normalised to unit energy.
   */
  public static float[] syntheticRir(double rt60, double drrDb, Random rnd) {
    int len = Math.max(2, (int) (rt60 * SAMPLE_RATE));
    int predelay = 1 + rnd.nextInt(80); // up to 5 ms before the first reflections
    double[] t = new double[len];
    for (int n = 0; n < len; n++) {
      t[n] = rnd.nextGaussian() * Math.exp(-6.908 * n / (rt60 * SAMPLE_RATE));
    }
    return withDirectPath(t, predelay, drrDb);
  }

  /**
   * A unit-energy impulse response: a direct path, then {@code reverb} after {@code predelay}
   * samples, scaled to sit {@code drrDb} below the direct path.
   */
  private static float[] withDirectPath(double[] reverb, int predelay, double drrDb) {
    double energy = 0;
    for (double v : reverb) {
      energy += v * v;
    }
    double scale = Math.sqrt(Math.pow(10, -drrDb / 10) / energy);
    float[] h = new float[reverb.length + predelay];
    h[0] = 1f;
    for (int i = 0; i < reverb.length; i++) {
      h[predelay + i] = (float) (reverb[i] * scale);
    }
    double e = 0;
    for (float v : h) {
      e += v * v;
    }
    float norm = (float) (1 / Math.sqrt(e));
    for (int i = 0; i < h.length; i++) {
      h[i] *= norm;
    }
    return h;
  }

  /** Octave-band centres of {@link #shapedRir}'s tail. */
  private static final double[] BAND_CENTRES_HZ = {125, 250, 500, 1000, 2000, 4000, 8000};

  /**
   * A more room-like impulse response than {@link #syntheticRir}: a direct path, 4–11 discrete early
   * reflections (walls, table) 1–30 ms after it, and a diffuse tail that decays faster at high
   * frequencies, as air and wall absorption make real rooms do. The tail is seven octave bands
   * (125 Hz–8 kHz, raised-cosine crossovers that sum to one) of Gaussian noise, each reaching -60 dB
   * after {@code rt60} times a band factor: 1–1.3 at 125 Hz, 1 at 500 Hz, 0.35–0.7 at 8 kHz
   * (geometric in between); it fades in over its first 10 ms. The reflections and tail together sit
   * {@code drrDb} below the direct path. Normalised to unit energy.
   */
  public static float[] shapedRir(double rt60, double drrDb, Random rnd) {
    double lowFactor = 1 + 0.3 * rnd.nextDouble();
    double highFactor = 0.35 + 0.35 * rnd.nextDouble();
    int len = Math.max(2, (int) (rt60 * lowFactor * SAMPLE_RATE));
    int predelay = 1 + rnd.nextInt(80);
    int n = Fft.nextPow2(len);
    double[] re = new double[n];
    double[] im = new double[n];
    for (double centre : BAND_CENTRES_HZ) {
      double octaves = Math.log(centre / 500) / Math.log(2); // -2 .. 4
      double factor = octaves <= 0 ? 1 + (lowFactor - 1) * (-octaves / 2) : Math.pow(highFactor, octaves / 4);
      double decay = -6.908 / (rt60 * factor * SAMPLE_RATE);
      double[] br = new double[n];
      double[] bi = new double[n];
      for (int i = 0; i < len; i++) {
        br[i] = rnd.nextGaussian() * Math.exp(decay * i);
      }
      Fft.transform(br, bi, false);
      for (int k = 0; k < n; k++) {
        double w = bandWeight(Math.min(k, n - k) * (double) SAMPLE_RATE / n, centre);
        re[k] += w * br[k];
        im[k] += w * bi[k];
      }
    }
    Fft.transform(re, im, true);
    int fadeIn = SAMPLE_RATE / 100;
    double[] reverb = new double[len];
    for (int i = 0; i < len; i++) {
      reverb[i] = re[i] * Math.min(1.0, (double) i / fadeIn);
    }
    int reflections = 4 + rnd.nextInt(8);
    for (int r = 0; r < reflections; r++) {
      int delay = Math.min(len - 1, SAMPLE_RATE / 1000 + rnd.nextInt(SAMPLE_RATE * 29 / 1000));
      double amplitude = (0.2 + 0.5 * rnd.nextDouble()) * Math.exp(-6.908 * delay / (rt60 * SAMPLE_RATE));
      reverb[delay] += rnd.nextBoolean() ? amplitude : -amplitude;
    }
    return withDirectPath(reverb, predelay, drrDb);
  }

  /** The share of frequency {@code hz} in the octave band at {@code centre} (raised cosine in log frequency). */
  private static double bandWeight(double hz, double centre) {
    double first = BAND_CENTRES_HZ[0];
    double last = BAND_CENTRES_HZ[BAND_CENTRES_HZ.length - 1];
    if ((centre == first && hz <= first) || (centre == last && hz >= last)) {
      return 1;
    }
    double d = hz <= 0 ? Double.NEGATIVE_INFINITY : Math.log(hz / centre) / Math.log(2);
    if (Math.abs(d) >= 1) {
      return 0;
    }
    double c = Math.cos(Math.PI / 2 * d);
    return c * c;
  }

  /** Reverberates {@code x} with {@code rir} (FFT convolution) and restores the input's RMS. */
  public static float[] reverberate(float[] x, float[] rir) {
    float[] y = Fft.convolve(x, rir);
    double ex = rms(x);
    double ey = rms(y);
    if (ey > 0) {
      float g = (float) (ex / ey);
      for (int i = 0; i < y.length; i++) {
        y[i] *= g;
      }
    }
    return y;
  }

  public static double rms(float[] x) {
    double s = 0;
    for (float v : x) {
      s += (double) v * v;
    }
    return Math.sqrt(s / Math.max(1, x.length));
  }

  /**
   * {@code length} output samples of {@code src} played at {@code speed} (Kaldi-style speed
   * perturbation: 1.1 is faster and higher), starting at source sample {@code start}, wrapping
   * around the source. Linear interpolation.
   */
  public static float[] crop(float[] src, int start, int length, double speed) {
    float[] out = new float[length];
    int n = src.length;
    for (int i = 0; i < length; i++) {
      double pos = start + i * speed;
      long p = (long) Math.floor(pos);
      double frac = pos - p;
      float a = src[(int) (p % n)];
      float b = src[(int) ((p + 1) % n)];
      out[i] = (float) (a + (b - a) * frac);
    }
    return out;
  }

  /** In-place RBJ biquad low-pass ({@code lowPass}) or high-pass at {@code cutoffHz}. */
  public static void biquad(float[] x, double cutoffHz, boolean lowPass) {
    double w0 = 2 * Math.PI * cutoffHz / SAMPLE_RATE;
    double alpha = Math.sin(w0) / (2 * Math.sqrt(0.5));
    double cos = Math.cos(w0);
    double b1 = lowPass ? 1 - cos : -(1 + cos);
    double b0 = Math.abs(b1) / 2;
    filter(x, b0, b1, b0, 1 + alpha, -2 * cos, 1 - alpha);
  }

  /**
   * In place, a narrow-band telephone channel as Parley hears it once an 8 kHz call is decoded to
   * 16 kHz: a high-pass at 200–400 Hz, an 8th-order low-pass at 3.3–3.8 kHz standing for the
   * 8 kHz sampling, G.711 µ-law quantisation of the 8 kHz samples, and the same low-pass again
   * for the resampling back to 16 kHz (so nothing, not even quantisation noise, is left above
   * 4 kHz).
   */
  public static void telephone(float[] x, Random rnd) {
    biquad(x, 200 + 200 * rnd.nextDouble(), false);
    double top = 3300 + 500 * rnd.nextDouble();
    for (int k = 0; k < 4; k++) biquad(x, top, true);
    double peak = 0;
    for (float v : x) peak = Math.max(peak, Math.abs(v));
    if (peak <= 0) return;
    double scale = (0.5 + 0.5 * rnd.nextDouble()) / peak; // a call's level: its peaks at -6..0 dBFS
    double mu = 255;
    double lnOnePlusMu = Math.log1p(mu);
    for (int i = 0; i < x.length; i++) {
      if (i % 2 == 1) {
        x[i] = 0; // the 8 kHz grid keeps every second sample; the rest are zero-stuffed
        continue;
      }
      double y = x[i] * scale;
      double code = Math.signum(y) * Math.log1p(mu * Math.min(1, Math.abs(y))) / lnOnePlusMu;
      code = Math.round(code * 127) / 127.0; // 8-bit code
      x[i] = (float) (2 * Math.signum(code) * Math.expm1(Math.abs(code) * lnOnePlusMu) / mu / scale);
    }
    for (int k = 0; k < 4; k++) biquad(x, top, true);
  }

  /** In-place RBJ peaking equaliser: {@code gainDb} around {@code centreHz}, bandwidth set by {@code q}. */
  public static void peaking(float[] x, double centreHz, double gainDb, double q) {
    double a = Math.pow(10, gainDb / 40);
    double w0 = 2 * Math.PI * centreHz / SAMPLE_RATE;
    double alpha = Math.sin(w0) / (2 * q);
    double cos = Math.cos(w0);
    filter(x, 1 + alpha * a, -2 * cos, 1 - alpha * a, 1 + alpha / a, -2 * cos, 1 - alpha / a);
  }

  /**
   * A random microphone and channel colouring: {@code bands} peaking filters at log-uniform
   * 150 Hz–6 kHz, each ±{@code maxDb}, Q 0.7–2. Speakers in one meeting share the channel, so the
   * speaker model must not learn it as part of a voice.
   */
  public static void randomEq(float[] x, int bands, double maxDb, Random rnd) {
    for (int b = 0; b < bands; b++) {
      double f = 150 * Math.pow(6000 / 150.0, rnd.nextDouble());
      peaking(x, f, (2 * rnd.nextDouble() - 1) * maxDb, 0.7 + 1.3 * rnd.nextDouble());
    }
  }

  private static void filter(float[] x, double b0, double b1, double b2, double a0, double a1, double a2) {
    double x1 = 0;
    double x2 = 0;
    double y1 = 0;
    double y2 = 0;
    for (int i = 0; i < x.length; i++) {
      double xi = x[i];
      double y = (b0 * xi + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2) / a0;
      x2 = x1;
      x1 = xi;
      y2 = y1;
      y1 = y;
      x[i] = (float) y;
    }
  }

  /** Adds {@code other} scaled so that {@code x} is {@code snrDb} louder (RMS). */
  public static void mix(float[] x, float[] other, double snrDb) {
    double ex = rms(x);
    double eo = rms(other);
    if (eo <= 0 || ex <= 0) {
      return;
    }
    float g = (float) (ex / eo / Math.pow(10, snrDb / 20));
    for (int i = 0; i < x.length; i++) {
      x[i] += g * other[i];
    }
  }

  /** White noise, optionally coloured by a one-pole low-pass (brown-ish when {@code colour} near 1). */
  public static float[] noise(int length, double colour, Random rnd) {
    float[] n = new float[length];
    double prev = 0;
    for (int i = 0; i < length; i++) {
      prev = colour * prev + (1 - colour) * rnd.nextGaussian();
      n[i] = (float) prev;
    }
    return n;
  }

  public static void gain(float[] x, double db) {
    float g = (float) Math.pow(10, db / 20);
    for (int i = 0; i < x.length; i++) {
      x[i] *= g;
    }
  }

  /**
   * Tonal interference as recordings carry it, to add to a crop as non-speech: mains hum (50 or 60
   * Hz with random harmonics up to 8, through the whole crop, p = 0.4), beeps (1-4 bursts of
   * 0.08-1.2 s of one or two sine tones at 300-3500 Hz, as notifications, DTMF and call-progress
   * tones sound, p = 0.4), or one steady tone of 1-6 s at 200-4000 Hz (p = 0.2). Each part is at
   * -55..-25 dBFS (hum) or -45..-15 dBFS (tones), as loud as the crops' speech.
   */
  public static float[] tonal(int length, Random rnd) {
    float[] out = new float[length];
    double kind = rnd.nextDouble();
    if (kind < 0.4) {
      double f0 = rnd.nextBoolean() ? 50 : 60;
      double tilt = 0.5 + rnd.nextDouble();
      for (int k = 1; k <= 8; k++) {
        addSine(out, 0, length, f0 * k, rnd.nextDouble() * Math.pow(k, -tilt), rnd.nextDouble() * 2 * Math.PI);
      }
      scaleRms(out, -55 + 30 * rnd.nextDouble());
      return out;
    }
    int bursts = kind < 0.8 ? 1 + rnd.nextInt(4) : 1;
    for (int b = 0; b < bursts; b++) {
      double seconds = kind < 0.8 ? 0.08 + 1.12 * rnd.nextDouble() : 1 + 5 * rnd.nextDouble();
      int n = Math.min(length, (int) (seconds * 16000));
      int at = rnd.nextInt(length - n + 1);
      float[] burst = new float[n];
      int tones = kind < 0.8 && rnd.nextBoolean() ? 2 : 1;
      double lo = kind < 0.8 ? 300 : 200;
      double hi = kind < 0.8 ? 3500 : 4000;
      for (int t = 0; t < tones; t++) addSine(burst, 0, n, lo + (hi - lo) * rnd.nextDouble(), 1, 0);
      scaleRms(burst, -45 + 30 * rnd.nextDouble());
      for (int i = 0; i < n; i++) {
        double fade = Math.min(1, Math.min(i, n - 1 - i) / 80.0); // 5 ms: a click-free onset, as devices make them
        out[at + i] += (float) (burst[i] * fade);
      }
    }
    return out;
  }

  private static void addSine(float[] x, int from, int to, double hz, double amplitude, double phase) {
    double w = 2 * Math.PI * hz / 16000;
    for (int i = from; i < to; i++) x[i] += (float) (amplitude * Math.sin(w * (i - from) + phase));
  }

  private static void scaleRms(float[] x, double dbfs) {
    double r = rms(x);
    if (r < 1e-12) return;
    gain(x, dbfs - 20 * Math.log10(r));
  }
}
