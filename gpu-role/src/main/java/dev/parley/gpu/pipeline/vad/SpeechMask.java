package dev.parley.gpu.pipeline.vad;

import java.util.ArrayList;
import java.util.List;

/**
 * Speech activity at 10 ms resolution: frame {@code i} covers {@code [i*0.01, (i+1)*0.01)} s.
 * Immutable; {@link #regions()} gives the speech runs.
 */
public final class SpeechMask {
  public static final double FRAME_SECONDS = 0.01;
  public static final int SAMPLES_PER_FRAME = 160;

  private final boolean[] speech;

  public SpeechMask(boolean[] speech) {
    this.speech = speech.clone();
  }

  /** Number of 10 ms frames for {@code samples} 16 kHz samples (the last partial frame counts). */
  public static int frameCount(int samples) {
    return (samples + SAMPLES_PER_FRAME - 1) / SAMPLES_PER_FRAME;
  }

  public int length() {
    return speech.length;
  }

  public boolean isSpeech(int frame) {
    return speech[frame];
  }

  public boolean[] toArray() {
    return speech.clone();
  }

  public int speechFrames() {
    int n = 0;
    for (boolean b : speech) if (b) n++;
    return n;
  }

  /** A run of speech frames {@code [start, end)}. */
  public record Region(int start, int end) {
    public int length() {
      return end - start;
    }

    public double startSeconds() {
      return start * FRAME_SECONDS;
    }

    public double endSeconds() {
      return end * FRAME_SECONDS;
    }
  }

  public List<Region> regions() {
    List<Region> out = new ArrayList<>();
    int i = 0;
    while (i < speech.length) {
      if (!speech[i]) {
        i++;
        continue;
      }
      int s = i;
      while (i < speech.length && speech[i]) i++;
      out.add(new Region(s, i));
    }
    return out;
  }

  /** {@link #fromScores(float[], double, double, double, double, double)} without padding. */
  public static SpeechMask fromScores(float[] score, double onset, double offset,
      double minSpeechSeconds, double minSilenceSeconds) {
    return fromScores(score, onset, offset, minSpeechSeconds, minSilenceSeconds, 0);
  }

  /**
   * Turns per-frame speech scores into a mask: hysteresis (a run starts above {@code onset} and
   * ends below {@code offset}), then gaps shorter than {@code minSilence} are filled, runs shorter
   * than {@code minSpeech} dropped, and each run padded by {@code pad} seconds on both sides.
   */
  public static SpeechMask fromScores(float[] score, double onset, double offset,
      double minSpeechSeconds, double minSilenceSeconds, double padSeconds) {
    int n = score.length;
    boolean[] m = new boolean[n];
    boolean on = false;
    for (int i = 0; i < n; i++) {
      on = on ? score[i] >= offset : score[i] > onset;
      m[i] = on;
    }
    return smooth(m, minSpeechSeconds, minSilenceSeconds, padSeconds);
  }

  /** Gap filling, short-run removal and padding, in that order. */
  private static SpeechMask smooth(boolean[] mask, double minSpeechSeconds, double minSilenceSeconds, double padSeconds) {
    boolean[] m = mask.clone();
    int minSil = (int) Math.round(minSilenceSeconds / FRAME_SECONDS);
    int minSp = (int) Math.round(minSpeechSeconds / FRAME_SECONDS);
    List<Region> runs = new SpeechMask(m).regions();
    for (int k = 1; k < runs.size(); k++) {
      int gapStart = runs.get(k - 1).end();
      int gapEnd = runs.get(k).start();
      if (gapEnd - gapStart < minSil) for (int i = gapStart; i < gapEnd; i++) m[i] = true;
    }
    for (Region r : new SpeechMask(m).regions()) {
      if (r.length() < minSp) for (int i = r.start(); i < r.end(); i++) m[i] = false;
    }
    return new SpeechMask(m).padded(padSeconds);
  }

  /** This mask with each speech run widened by {@code seconds} on both sides (within the recording). */
  public SpeechMask padded(double seconds) {
    int pad = (int) Math.round(seconds / FRAME_SECONDS);
    if (pad <= 0) return this;
    boolean[] p = speech.clone();
    for (Region r : regions()) {
      for (int i = Math.max(0, r.start() - pad); i < Math.min(speech.length, r.end() + pad); i++) p[i] = true;
    }
    return new SpeechMask(p);
  }
}
