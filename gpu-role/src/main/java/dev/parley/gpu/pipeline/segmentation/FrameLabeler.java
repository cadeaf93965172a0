package dev.parley.gpu.pipeline.segmentation;

import dev.parley.gpu.pipeline.PipelineParams;
import dev.parley.gpu.pipeline.clustering.Similarity;
import dev.parley.gpu.pipeline.vad.SpeechMask;
import dev.parley.gpu.pipeline.windows.Window;
import dev.parley.protocol.Segment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Places speaker turns at 10 ms resolution. Every window scores each speaker by its cosine
 * similarity to that speaker's centroid; a speech frame scores each speaker by the mean over the
 * windows that cover it, each window weighted towards its centre (so boundaries fall between
 * window centres, not on the hop grid). Within each stretch of covered speech, a Viterbi pass
 * picks the speaker sequence with the best total score less {@code switchPenalty} per change
 * (resegmentation against the recording's own speaker centroids, so that noisy windows do not
 * fragment a turn). Speech frames no window covers take the nearest labelled frame's speaker.
 * Turns shorter than {@code minTurnSeconds} inside speech are then given to the neighbour that
 * scores best over them. Stateless and thread-safe.
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
    Arrays.fill(label, -1);
    if (k == 0) return label;
    float[][] score = new float[n][];
    float[] weight = new float[n];
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
        weight[f] += wt;
      }
    }
    // weighted mean similarity of each frame to each speaker
    for (int f = 0; f < n; f++) {
      if (score[f] == null) continue;
      for (int c = 0; c < k; c++) score[f][c] /= weight[f];
    }
    double penalty = params.switchPenalty();
    int f = 0;
    while (f < n) {
      if (score[f] == null) {
        f++;
        continue;
      }
      int s0 = f;
      while (f < n && score[f] != null) f++;
      viterbi(score, s0, f, k, penalty, label);
    }
    fillUncovered(mask, label);
    mergeShortTurns(label, score, (int) Math.round(params.minTurnSeconds() / SpeechMask.FRAME_SECONDS));
    return label;
  }

  /**
   * Best speaker path over frames {@code [from, to)}: maximises the summed similarity minus
   * {@code penalty} per change of speaker (0 = each frame's best speaker).
   */
  static void viterbi(float[][] score, int from, int to, int k, double penalty, int[] label) {
    int len = to - from;
    if (penalty <= 0 || k == 1) {
      for (int f = from; f < to; f++) {
        int best = 0;
        for (int c = 1; c < k; c++) if (score[f][c] > score[f][best]) best = c;
        label[f] = best;
      }
      return;
    }
    double[] acc = new double[k];
    for (int c = 0; c < k; c++) acc[c] = score[from][c];
    short[][] back = new short[len][]; // counts reach DiarizationOptions.MAX_SPEAKERS (1000): no byte
    double[] next = new double[k];
    for (int t = 1; t < len; t++) {
      int bestPrev = 0;
      for (int c = 1; c < k; c++) if (acc[c] > acc[bestPrev]) bestPrev = c;
      short[] bp = new short[k];
      float[] sc = score[from + t];
      for (int c = 0; c < k; c++) {
        double stay = acc[c];
        double move = acc[bestPrev] - penalty;
        if (bestPrev != c && move > stay) {
          next[c] = move + sc[c];
          bp[c] = (short) bestPrev;
        } else {
          next[c] = stay + sc[c];
          bp[c] = (short) c;
        }
      }
      back[t] = bp;
      double[] tmp = acc;
      acc = next;
      next = tmp;
    }
    int c = 0;
    for (int j = 1; j < k; j++) if (acc[j] > acc[c]) c = j;
    for (int t = len - 1; t >= 0; t--) {
      label[from + t] = c;
      if (t > 0) c = back[t][c];
    }
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

  /**
   * The second speaker of each frame inside {@code overlapped} speech: the other speaker whose
   * turn is nearest in time, before or after (people talk over each other mostly where one takes
   * the floor from another, or to back up the talker they are answering; Otterson and Ostendorf's
   * nearest-speaker heuristic); -1 elsewhere, and where nobody else speaks in the recording.
   */
  public static int[] secondSpeaker(int[] label, SpeechMask overlapped, int speakers) {
    int[] before = nearestOther(label, speakers, false);
    int[] after = nearestOther(label, speakers, true);
    int[] second = new int[label.length];
    Arrays.fill(second, -1);
    for (int f = 0; f < label.length && f < overlapped.length(); f++) {
      if (label[f] < 0 || !overlapped.isSpeech(f)) continue;
      boolean useBefore = before[f] >= 0 && (after[f] < 0 || f - before[f] <= after[f] - f);
      int other = useBefore ? before[f] : after[f];
      second[f] = other < 0 ? -1 : label[other];
    }
    return second;
  }

  /**
   * Per frame, the nearest frame before it (or, with {@code after}, after it) whose speaker is
   * another than the frame's own; -1 where there is none or the frame is not speech.
   */
  static int[] nearestOther(int[] label, int speakers, boolean after) {
    int n = label.length;
    int[] seen = new int[speakers];
    Arrays.fill(seen, -1);
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      int f = after ? n - 1 - i : i;
      out[f] = -1;
      int own = label[f];
      if (own < 0) continue;
      for (int k = 0; k < speakers; k++) {
        if (k == own || seen[k] < 0) continue;
        if (out[f] < 0 || Math.abs(f - seen[k]) < Math.abs(f - out[f])) out[f] = seen[k];
      }
      seen[own] = f;
    }
    return out;
  }

  /** Segments from frame labels, sorted by start, with the given speaker names. */
  public static List<Segment> segments(int[] label, List<String> names) {
    return segments(label, names, 0);
  }

  /**
   * Segments from frame labels, sorted by start. Where a turn directly follows another speaker's,
   * both are extended {@code changeOverlapSeconds} across the change (never beyond the other
   * turn), so that the two speakers overlap there.
   */
  public static List<Segment> segments(int[] label, List<String> names, double changeOverlapSeconds) {
    List<int[]> runs = runs(label);
    int d = (int) Math.round(changeOverlapSeconds / SpeechMask.FRAME_SECONDS);
    int[] start = new int[runs.size()];
    int[] end = new int[runs.size()];
    for (int i = 0; i < runs.size(); i++) {
      start[i] = runs.get(i)[0];
      end[i] = runs.get(i)[1];
    }
    if (d > 0) {
      for (int i = 0; i + 1 < runs.size(); i++) {
        int[] a = runs.get(i);
        int[] b = runs.get(i + 1);
        if (a[1] != b[0] || a[2] == b[2]) continue;
        end[i] = Math.min(b[1], a[1] + d);
        start[i + 1] = Math.max(a[0], b[0] - d);
      }
    }
    List<Segment> out = new ArrayList<>();
    for (int i = 0; i < runs.size(); i++) {
      out.add(new Segment(round(start[i] * SpeechMask.FRAME_SECONDS), round(end[i] * SpeechMask.FRAME_SECONDS),
          names.get(runs.get(i)[2])));
    }
    out.sort((x, y) -> Double.compare(x.start(), y.start()));
    return out;
  }

  private static double round(double s) {
    return Math.round(s * 100) / 100.0;
  }
}
