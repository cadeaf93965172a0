package dev.parley.gpu.testutil;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/** Test signals at 16 kHz: speech-like voices, noise, silence. */
public final class Signals {
  public static final int RATE = 16_000;

  private Signals() {}

  /**
   * A speech-like voice: a glottal-like harmonic series on {@code f0} (with slow vibrato), shaped
   * by two formant resonances, amplitude-modulated at a syllable rate of ~4 Hz with short pauses.
   */
  public static float[] voice(double seconds, double f0, double formant1, double formant2, double level, long seed) {
    int n = (int) Math.round(seconds * RATE);
    float[] x = new float[n];
    Random r = new Random(seed);
    double phase = 0;
    double sylPhase = r.nextDouble() * 2 * Math.PI;
    for (int i = 0; i < n; i++) {
      double t = i / (double) RATE;
      double f = f0 * (1 + 0.03 * Math.sin(2 * Math.PI * 0.7 * t) + 0.02 * Math.sin(2 * Math.PI * 3.1 * t));
      phase += 2 * Math.PI * f / RATE;
      double s = 0;
      for (int h = 1; h * f < 5000; h++) {
        double fh = h * f;
        double g = 1.0 / h;
        g *= 1 + 4 * resonance(fh, formant1, 120) + 2 * resonance(fh, formant2, 200);
        s += g * Math.sin(h * phase);
      }
      double env = Math.max(0, Math.sin(2 * Math.PI * 4.0 * t + sylPhase)); // syllables
      env = 0.3 + 0.7 * env;
      x[i] = (float) (s * env);
    }
    normalise(x, level);
    return x;
  }

  private static double resonance(double f, double centre, double width) {
    double d = (f - centre) / width;
    return 1 / (1 + d * d);
  }

  public static float[] noise(double seconds, double level, long seed) {
    int n = (int) Math.round(seconds * RATE);
    float[] x = new float[n];
    Random r = new Random(seed);
    for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
    normalise(x, level);
    return x;
  }

  /** Scales to the given RMS. */
  public static void normalise(float[] x, double rms) {
    double s = 0;
    for (float v : x) s += v * v;
    double cur = Math.sqrt(s / Math.max(1, x.length));
    if (cur == 0) return;
    for (int i = 0; i < x.length; i++) x[i] *= (float) (rms / cur);
  }

  public static float[] concat(float[]... parts) {
    int n = 0;
    for (float[] p : parts) n += p.length;
    float[] out = new float[n];
    int k = 0;
    for (float[] p : parts) {
      System.arraycopy(p, 0, out, k, p.length);
      k += p.length;
    }
    return out;
  }

  /** Adds {@code b} into a copy of {@code a} (lengths may differ; the result has a's length). */
  public static float[] mix(float[] a, float[] b) {
    float[] out = a.clone();
    for (int i = 0; i < Math.min(a.length, b.length); i++) out[i] += b[i];
    return out;
  }

  /** Writes 16-bit PCM mono WAV at 16 kHz. */
  public static Path writeWav(Path file, float[] x) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(44 + 2 * x.length).order(ByteOrder.LITTLE_ENDIAN);
    b.put("RIFF".getBytes()).putInt(36 + 2 * x.length).put("WAVE".getBytes());
    b.put("fmt ".getBytes()).putInt(16).putShort((short) 1).putShort((short) 1).putInt(RATE).putInt(RATE * 2)
        .putShort((short) 2).putShort((short) 16);
    b.put("data".getBytes()).putInt(2 * x.length);
    for (float v : x) b.putShort((short) Math.max(-32768, Math.min(32767, Math.round(v * 32767))));
    return Files.write(file, b.array());
  }

  public static float[] silence(double seconds) {
    return new float[(int) Math.round(seconds * RATE)];
  }
}
