package dev.parley.gpu.pipeline.features;

import static dev.parley.gpu.pipeline.audio.AudioDecoder.SAMPLE_RATE;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.Random;

/**
 * Kaldi-compatible log-mel filterbank ({@code compute-fbank-feats} defaults as used by WeSpeaker):
 * 16 kHz input, 25 ms Povey window, 10 ms shift, {@code snip_edges=true}, waveform scaled by
 * 32768, DC removed per frame, pre-emphasis 0.97, no dither, 512-point power spectrum, 80
 * triangular bins on the Kaldi mel scale from 20 Hz to 8 kHz, natural log floored at float
 * epsilon, no energy term.
 *
 * <p>The whole per-frame chain (scale, DC removal, pre-emphasis, window, zero padding, real DFT)
 * is linear, so it is folded into one precomputed {@code [400, 514]} matrix: features are one
 * matmul, a square, a second matmul with the mel bank and a log, all DJL ops on the device this
 * instance was created for. Long inputs are processed in blocks of {@link #BLOCK_FRAMES} frames so
 * an hour of audio never materialises its full frame matrix.
 *
 * <p>Instances are immutable after construction and safe to share between threads.
 */
public final class Fbank implements AutoCloseable {
  public static final int FRAME_LENGTH = 400;
  public static final int FRAME_SHIFT = 160;
  public static final int FFT_SIZE = 512;
  public static final int NUM_BINS = 80;
  public static final double LOW_FREQ = 20.0;
  public static final double HIGH_FREQ = 8000.0;
  public static final double PREEMPHASIS = 0.97;
  public static final double WAVE_SCALE = 32768.0;
  public static final float LOG_FLOOR = Math.ulp(1.0f); // FLT_EPSILON = 1.1920929e-07
  /** 60 s of frames per block. */
  public static final int BLOCK_FRAMES = 6000;

  private static final int SPEC_BINS = FFT_SIZE / 2 + 1;

  private final NDManager manager;
  private final NDArray dft; // [400, 2*257]: real parts then imaginary parts
  private final NDArray mel; // [257, 80]

  /** Creates the constant matrices on {@code device} (null: DJL's default device). */
  public Fbank(Device device) {
    this.manager = NDManager.newBaseManager(device);
    this.dft = manager.create(frameToSpectrumMatrix(), new Shape(FRAME_LENGTH, 2 * SPEC_BINS));
    this.mel = manager.create(melBanks(), new Shape(SPEC_BINS, NUM_BINS));
  }

  public Device device() {
    return manager.getDevice();
  }

  /** Number of frames Kaldi produces for {@code n} samples with {@code snip_edges=true}. */
  public static int frameCount(int n) {
    return n < FRAME_LENGTH ? 0 : 1 + (n - FRAME_LENGTH) / FRAME_SHIFT;
  }

  /**
   * Log-mel features of {@code samples[from, to)} (16 kHz, nominal range [-1, 1]) as a
   * {@code [frames, 80]} float32 array attached to {@code m} on this instance's device. Fewer
   * than 400 samples give a {@code [0, 80]} array.
   */
  public NDArray compute(float[] samples, int from, int to, NDManager m) {
    if (samples == null) {
      throw new IllegalArgumentException("samples must not be null");
    }
    if (from < 0 || to > samples.length || from > to) {
      throw new IllegalArgumentException(
          "invalid range [" + from + ", " + to + ") for " + samples.length + " samples");
    }
    int frames = frameCount(to - from);
    if (frames == 0) {
      return m.zeros(new Shape(0, NUM_BINS), DataType.FLOAT32, device());
    }
    if (frames <= BLOCK_FRAMES) {
      return block(samples, from, 0, frames, m);
    }
    NDList parts = new NDList();
    try (NDManager scratch = m.newSubManager(device())) {
      for (int f0 = 0; f0 < frames; f0 += BLOCK_FRAMES) {
        parts.add(block(samples, from, f0, Math.min(frames, f0 + BLOCK_FRAMES), scratch));
      }
      NDArray all = NDArrays.concat(parts);
      all.attach(m);
      return all;
    }
  }

  /**
   * Standard deviation, in 16-bit steps, of the white noise whose power {@link #noiseFloor} gives
   * (about -96 dBFS; Kaldi's default dither is one step).
   */
  public static final double NOISE_FLOOR_STEPS = 0.5;

  /**
   * The expected mel power, per bin, of white noise {@link #NOISE_FLOOR_STEPS} strong: {@code [80]}
   * on {@code m}, to add to every frame's power ({@link #withNoiseFloor}) where a model must not see
   * empty bins. Audio band-limited by its source (telephone, 8 kHz files, low-bitrate MP3) leaves
   * the upper bins at the log floor, a value no training recording had: the speech detector called
   * most of such a file's silence speech and the speaker model heard every caller alike. An expected
   * value, not dither: nothing random. Bins with any sound in them do not move.
   */
  public NDArray noiseFloor(NDManager m) {
    float[] floor = noiseFloor;
    if (floor == null) {
      Random random = new Random(0);
      float[] noise = new float[10 * SAMPLE_RATE];
      for (int i = 0; i < noise.length; i++) noise[i] = (float) (random.nextGaussian() * NOISE_FLOOR_STEPS / 32768.0);
      try (NDManager scratch = m.newSubManager(device())) {
        floor = compute(noise, scratch).exp().mean(new int[] {0}).toFloatArray();
      }
      noiseFloor = floor; // the same for every instance: computed once, by whichever asks first
    }
    return m.create(floor);
  }

  /** {@link #noiseFloor}'s values once computed. */
  private static volatile float[] noiseFloor;

  /** Log-mel features {@code [..., 80]} with {@code floor} ({@link #noiseFloor}) added to their power. */
  public static NDArray withNoiseFloor(NDArray logMel, NDArray floor) {
    return logMel.exp().add(floor).log();
  }

  /** Features of a whole signal. */
  public NDArray compute(float[] samples, NDManager m) {
    return compute(samples, 0, samples.length, m);
  }

  /**
   * Features of several equally long windows in one pass: {@code [windows, frames, 80]} on {@code
   * m}. Meant for batches of short windows (training, embedding extraction); no blocking.
   */
  public NDArray computeBatch(float[][] windows, NDManager m) {
    if (windows == null || windows.length == 0) {
      throw new IllegalArgumentException("no windows");
    }
    int len = windows[0].length;
    int frames = frameCount(len);
    if (frames == 0) {
      throw new IllegalArgumentException("windows shorter than one frame: " + len + " samples");
    }
    float[] all = new float[windows.length * frames * FRAME_LENGTH];
    for (int w = 0; w < windows.length; w++) {
      if (windows[w].length != len) {
        throw new IllegalArgumentException("windows differ in length");
      }
      for (int f = 0; f < frames; f++) {
        System.arraycopy(
            windows[w], f * FRAME_SHIFT, all, (w * frames + f) * FRAME_LENGTH, FRAME_LENGTH);
      }
    }
    try (NDManager scratch = m.newSubManager(device())) {
      NDArray x = scratch.create(all, new Shape((long) windows.length * frames, FRAME_LENGTH));
      NDArray power = x.matMul(dft).square();
      NDArray out =
          power
              .get(":, 0:" + SPEC_BINS)
              .add(power.get(":, " + SPEC_BINS + ":"))
              .matMul(mel)
              .maximum(LOG_FLOOR)
              .log()
              .reshape(windows.length, frames, NUM_BINS);
      out.attach(m);
      return out;
    }
  }

  private NDArray block(float[] samples, int offset, int f0, int f1, NDManager m) {
    int n = f1 - f0;
    float[] frames = new float[n * FRAME_LENGTH];
    for (int f = 0; f < n; f++) {
      System.arraycopy(
          samples, offset + (f0 + f) * FRAME_SHIFT, frames, f * FRAME_LENGTH, FRAME_LENGTH);
    }
    try (NDManager scratch = m.newSubManager(device())) {
      NDArray x = scratch.create(frames, new Shape(n, FRAME_LENGTH));
      NDArray spec = x.matMul(dft); // [n, 514]
      NDArray power = spec.square();
      NDArray re2 = power.get(":, 0:" + SPEC_BINS);
      NDArray im2 = power.get(":, " + SPEC_BINS + ":");
      NDArray out = re2.add(im2).matMul(mel).maximum(LOG_FLOOR).log();
      out.attach(m);
      return out;
    }
  }

  /**
   * Cepstral mean normalisation: subtracts the mean over frames (axis -2), for {@code [T, 80]} or
   * {@code [B, T, 80]}. Returns a new array on the input's manager.
   */
  public static NDArray cmn(NDArray features) {
    if (features.getShape().dimension() < 2) {
      throw new IllegalArgumentException("expected [T, F] or [B, T, F], got " + features.getShape());
    }
    if (features.getShape().get(features.getShape().dimension() - 2) == 0) {
      return features.duplicate();
    }
    return features.sub(features.mean(new int[] {-2}, true));
  }

  /** Kaldi mel scale. */
  public static double melScale(double hz) {
    return 1127.0 * Math.log(1.0 + hz / 700.0);
  }

  /** Kaldi Povey window. */
  public static double[] poveyWindow() {
    double[] w = new double[FRAME_LENGTH];
    double a = 2 * Math.PI / (FRAME_LENGTH - 1);
    for (int i = 0; i < FRAME_LENGTH; i++) {
      w[i] = Math.pow(0.5 - 0.5 * Math.cos(a * i), 0.85);
    }
    return w;
  }

  /** Kaldi triangular mel filters, {@code [257, 80]} row-major (the Nyquist row is zero). */
  public static float[] melBanks() {
    float[] banks = new float[SPEC_BINS * NUM_BINS];
    double binWidth = (double) SAMPLE_RATE / FFT_SIZE;
    double melLow = melScale(LOW_FREQ);
    double melHigh = melScale(HIGH_FREQ);
    double delta = (melHigh - melLow) / (NUM_BINS + 1);
    for (int b = 0; b < NUM_BINS; b++) {
      double left = melLow + b * delta;
      double center = left + delta;
      double right = center + delta;
      for (int i = 0; i < FFT_SIZE / 2; i++) {
        double mel = melScale(binWidth * i);
        if (mel > left && mel < right) {
          double w = mel <= center ? (mel - left) / (center - left) : (right - mel) / (right - center);
          banks[i * NUM_BINS + b] = (float) w;
        }
      }
    }
    return banks;
  }

  /**
   * The linear map from 400 raw samples to the real and imaginary parts of the 512-point DFT of the
   * scaled, DC-removed, pre-emphasised, windowed frame: {@code [400, 514]} row-major.
   */
  static float[] frameToSpectrumMatrix() {
    int n = FRAME_LENGTH;
    // A: processed[j] = sum_i A[j][i] * raw[i]
    double[][] a = new double[n][n];
    for (int j = 0; j < n; j++) {
      for (int i = 0; i < n; i++) {
        a[j][i] = ((i == j ? 1.0 : 0.0) - 1.0 / n) * WAVE_SCALE; // scale + DC removal
      }
    }
    // pre-emphasis: p[j] = a[j] - c * a[j-1] (j > 0), p[0] = (1 - c) * a[0]
    double[][] p = new double[n][n];
    for (int j = 0; j < n; j++) {
      for (int i = 0; i < n; i++) {
        p[j][i] = a[j][i] - PREEMPHASIS * (j > 0 ? a[j - 1][i] : a[0][i]);
      }
    }
    double[] w = poveyWindow();
    for (int j = 0; j < n; j++) {
      for (int i = 0; i < n; i++) {
        p[j][i] *= w[j];
      }
    }
    // DFT: re[k] = sum_j p[j] cos(2 pi j k / N), im[k] = -sum_j p[j] sin(...)
    double[][] cos = new double[n][SPEC_BINS];
    double[][] sin = new double[n][SPEC_BINS];
    for (int j = 0; j < n; j++) {
      for (int k = 0; k < SPEC_BINS; k++) {
        double ang = 2 * Math.PI * ((long) j * k % FFT_SIZE) / FFT_SIZE;
        cos[j][k] = Math.cos(ang);
        sin[j][k] = -Math.sin(ang);
      }
    }
    float[] m = new float[n * 2 * SPEC_BINS];
    double[] re = new double[SPEC_BINS];
    double[] im = new double[SPEC_BINS];
    for (int i = 0; i < n; i++) {
      Arrays.fill(re, 0);
      Arrays.fill(im, 0);
      for (int j = 0; j < n; j++) {
        double pji = p[j][i];
        if (pji == 0) {
          continue;
        }
        double[] cj = cos[j];
        double[] sj = sin[j];
        for (int k = 0; k < SPEC_BINS; k++) {
          re[k] += pji * cj[k];
          im[k] += pji * sj[k];
        }
      }
      for (int k = 0; k < SPEC_BINS; k++) {
        m[i * 2 * SPEC_BINS + k] = (float) re[k];
        m[i * 2 * SPEC_BINS + SPEC_BINS + k] = (float) im[k];
      }
    }
    return m;
  }

  @Override
  public void close() {
    manager.close();
  }
}
