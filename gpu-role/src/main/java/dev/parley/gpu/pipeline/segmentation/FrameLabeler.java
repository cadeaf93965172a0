package dev.parley.gpu.pipeline.segmentation;

import dev.parley.gpu.pipeline.PipelineParams;
import dev.parley.gpu.pipeline.clustering.Similarity;
import dev.parley.gpu.pipeline.vad.SpeechMask;
import dev.parley.gpu.pipeline.windows.Window;
import dev.parley.protocol.Segment;
import java.util.ArrayList;
import java.util.List;

/**
 * Places speaker turns at 10 ms resolution. Every window scores each speaker by its cosine
 * similarity to that speaker's centroid; a speech frame takes the speaker with the highest score
 * summed over the windows that cover it, each window weighted towards its centre (so boundaries
 * fall between window centres, not on the hop grid). Speech frames no window covers take the
 * nearest labelled frame's speaker. Turns shorter than {@code minTurnSeconds} inside speech are
 * then given to the neighbour that scores best over them. Stateless and thread-safe.
 */
public final class FrameLabeler {
  private final PipelineParams.Segmentation params;

  public FrameLabeler(PipelineParams.Segmentation params) {
    this.params = params;
  }

  /**
   * @return per frame the speaker index, or -1 for non-speech
   */
  public int[] label(SpeechMask mask, List<Window> windows, float[][] embeddings, float[][] centroids) {
    int n = mask.length();
    int k = centroids.length;
    int[] label = new int[n];
    java.util.Arrays.fill(label, -1);
    if (k == 0) return label;
    float[][] score = new float[n][];
    for (int w = 0; w < windows.size(); w++) {
      Window win = windows.get(w);
      float[] s = new float[k];
      for (int c = 0; c < k; c++) s[c] = Similarity.dot(embeddings[w], centroids[c]);
      int len = win.length();
      for (int f = Math.max(0, win.start()); f < Math.min(n, win.end()); f++) {
        if (!mask.isSpeech(f)) continue;
        // triangular weight, never zero inside the window
        double pos = (f - win.start() + 0.5) / len;
        float wt = (float) (1.0 - Math.abs(2 * pos - 1) + 1e-3);
        if (score[f] == null) score[f] = new float[k];
        for (int c = 0; c < k; c++) score[f][c] += wt * s[c];
      }
    }
    for (int f = 0; f < n; f++) {
      if (score[f] == null) continue;
      int best = 0;
      for (int c = 1; c < k; c++) if (score[f][c] > score[f][best]) best = c;
      label[f] = best;
    }
    fillUncovered(mask, label);
    mergeShortTurns(label, score, (int) Math.round(params.minTurnSeconds() / SpeechMask.FRAME_SECONDS));
    return label;
  }

  /** Speech frames without a label take the nearest labelled frame's (0 when none is labelled). */
  static void fillUncovered(SpeechMask mask, int[] label) {
    int n = label.length;
    int[] left = new int[n];
    int last = -1;
    for (int f = 0; f < n; f++) {
      if (label[f] >= 0) last = f;
      left[f] = last;
    }
    int next = -1;
    for (int f = n - 1; f >= 0; f--) {
      if (label[f] >= 0) {
        next = f;
        continue;
      }
      if (!mask.isSpeech(f)) continue;
      int l = left[f];
      int src = l < 0 ? next : next < 0 ? l : (f - l <= next - f ? l : next);
      label[f] = src < 0 ? 0 : label[src];
    }
  }

  /** Turns under {@code minFrames} bordered by another speaker's speech join the better neighbour. */
  static void mergeShortTurns(int[] label, float[][] score, int minFrames) {
    if (minFrames <= 1) return;
    boolean changed = true;
    while (changed) {
      changed = false;
      List<int[]> runs = runs(label);
      // shortest first so that fragments collapse before longer turns are judged
      runs.sort((a, b) -> Integer.compare(a[1] - a[0], b[1] - b[0]));
      for (int[] r : runs) {
        int len = r[1] - r[0];
        if (len >= minFrames) break;
        int prev = r[0] > 0 ? label[r[0] - 1] : -1;
        int next = r[1] < label.length ? label[r[1]] : -1;
        if (label[r[0]] != r[2]) continue; // already changed in this pass
        int pick;
        if (prev < 0 && next < 0) continue;
        if (prev < 0) pick = next;
        else if (next < 0) pick = prev;
        else pick = sum(score, r, prev) >= sum(score, r, next) ? prev : next;
        if (pick == r[2]) continue;
        for (int f = r[0]; f < r[1]; f++) label[f] = pick;
        changed = true;
      }
    }
  }

  private static double sum(float[][] score, int[] run, int speaker) {
    double s = 0;
    for (int f = run[0]; f < run[1]; f++) if (score[f] != null) s += score[f][speaker];
    return s;
  }

  /** Runs of equal speaker labels (non-speech excluded): {start, end, speaker}. */
  static List<int[]> runs(int[] label) {
    List<int[]> out = new ArrayList<>();
    int f = 0;
    while (f < label.length) {
      if (label[f] < 0) {
        f++;
        continue;
      }
      int s = f;
      int spk = label[f];
      while (f < label.length && label[f] == spk) f++;
      out.add(new int[] {s, f, spk});
    }
    return out;
  }

  /** Segments from frame labels, sorted by start, with the given speaker names. */
  public static List<Segment> segments(int[] label, List<String> names) {
    List<Segment> out = new ArrayList<>();
    for (int[] r : runs(label)) {
      out.add(new Segment(round(r[0] * SpeechMask.FRAME_SECONDS), round(r[1] * SpeechMask.FRAME_SECONDS), names.get(r[2])));
    }
    return out;
  }

  private static double round(double s) {
    return Math.round(s * 100) / 100.0;
  }
}
