package dev.parley.gpu.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Diarization error rate as NIST md-eval and pyannote.metrics define it: overlapped speech is
 * scored (each reference speaker counts), hypothesis speakers are mapped one-to-one to reference
 * speakers to maximise their co-occurrence (Hungarian algorithm), and an optional collar of
 * {@code ±collar} seconds around every reference turn boundary is left unscored. With a collar, the
 * mapping maximises co-occurrence within the scored time, as pyannote.metrics does; md-eval chooses
 * it over the whole UEM, so with a collar it can give a higher figure when the collar changes which
 * mapping is best (docs/BENCHMARKS.md, "The scorer against NIST md-eval"). Without one they agree.
 */
public final class DerScorer {
  private DerScorer() {}

  /**
   * @param uem scored regions; {@code null} or empty scores the extent of reference and hypothesis
   * @param collar seconds left unscored on each side of every reference boundary (0 = none)
   */
  public static DerResult score(List<Turn> reference, List<Turn> hypothesis, List<Uem.Region> uem, double collar) {
    if (collar < 0 || !Double.isFinite(collar)) throw new IllegalArgumentException("collar must be >= 0");
    List<double[]> scored = scoredRegions(reference, hypothesis, uem, collar);
    if (scored.isEmpty()) return DerResult.ZERO;

    Map<String, Integer> refIds = new HashMap<>();
    Map<String, Integer> hypIds = new HashMap<>();
    for (Turn t : reference) refIds.putIfAbsent(t.speaker(), refIds.size());
    for (Turn t : hypothesis) hypIds.putIfAbsent(t.speaker(), hypIds.size());

    TreeSet<Double> cuts = new TreeSet<>();
    for (Turn t : reference) { cuts.add(t.start()); cuts.add(t.end()); }
    for (Turn t : hypothesis) { cuts.add(t.start()); cuts.add(t.end()); }
    for (double[] r : scored) { cuts.add(r[0]); cuts.add(r[1]); }
    double[] bounds = cuts.stream().mapToDouble(Double::doubleValue).toArray();
    int nInt = bounds.length - 1;
    if (nInt <= 0) return DerResult.ZERO;

    // active speaker counts per elementary interval, via start/end deltas
    int[][] refCount = activity(reference, refIds, bounds);
    int[][] hypCount = activity(hypothesis, hypIds, bounds);
    boolean[] inScore = new boolean[nInt];
    int r = 0;
    for (int i = 0; i < nInt; i++) {
      double mid = 0.5 * (bounds[i] + bounds[i + 1]);
      while (r < scored.size() && scored.get(r)[1] <= mid) r++;
      inScore[i] = r < scored.size() && scored.get(r)[0] <= mid;
    }

    int nr = refIds.size();
    int nh = hypIds.size();
    double[][] cooc = new double[nr][nh];
    for (int i = 0; i < nInt; i++) {
      if (!inScore[i]) continue;
      double d = bounds[i + 1] - bounds[i];
      for (int a = 0; a < nr; a++) {
        if (refCount[i][a] == 0) continue;
        for (int b = 0; b < nh; b++) if (hypCount[i][b] > 0) cooc[a][b] += d;
      }
    }
    int[] map = nr > 0 && nh > 0 ? Hungarian.maximize(cooc) : new int[nr];
    if (nh == 0) Arrays.fill(map, -1);

    double total = 0, missed = 0, fa = 0, conf = 0;
    for (int i = 0; i < nInt; i++) {
      if (!inScore[i]) continue;
      double d = bounds[i + 1] - bounds[i];
      int nRef = 0, nHyp = 0, correct = 0;
      for (int a = 0; a < nr; a++) {
        if (refCount[i][a] == 0) continue;
        nRef++;
        if (map[a] >= 0 && hypCount[i][map[a]] > 0) correct++;
      }
      for (int b = 0; b < nh; b++) if (hypCount[i][b] > 0) nHyp++;
      total += nRef * d;
      missed += Math.max(0, nRef - nHyp) * d;
      fa += Math.max(0, nHyp - nRef) * d;
      conf += (Math.min(nRef, nHyp) - correct) * d;
    }
    return new DerResult(total, missed, fa, conf);
  }

  /**
   * The one-speaker baseline: the reference's own speech regions given to a single speaker. It
   * shows what DER a system reaches that detects speech perfectly and separates no one.
   */
  public static List<Turn> oneSpeakerBaseline(List<Turn> reference) {
    List<double[]> spans = new ArrayList<>();
    for (Turn t : reference) spans.add(new double[] {t.start(), t.end()});
    List<Turn> out = new ArrayList<>();
    String file = reference.isEmpty() ? "" : reference.get(0).file();
    for (double[] s : union(spans)) out.add(new Turn(file, s[0], s[1], "ONE"));
    return out;
  }

  private static int[][] activity(List<Turn> turns, Map<String, Integer> ids, double[] bounds) {
    int nInt = bounds.length - 1;
    int n = ids.size();
    int[][] delta = new int[bounds.length][n];
    for (Turn t : turns) {
      if (t.end() <= t.start()) continue;
      int s = Arrays.binarySearch(bounds, t.start());
      int e = Arrays.binarySearch(bounds, t.end());
      int id = ids.get(t.speaker());
      delta[s][id]++;
      delta[e][id]--;
    }
    int[][] count = new int[nInt][n];
    int[] run = new int[n];
    for (int i = 0; i < nInt; i++) {
      for (int k = 0; k < n; k++) {
        run[k] += delta[i][k];
        count[i][k] = run[k];
      }
    }
    return count;
  }

  private static List<double[]> scoredRegions(List<Turn> ref, List<Turn> hyp, List<Uem.Region> uem, double collar) {
    List<double[]> base = new ArrayList<>();
    if (uem != null && !uem.isEmpty()) {
      for (Uem.Region r : uem) base.add(new double[] {r.start(), r.end()});
    } else {
      double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
      for (Turn t : ref) { lo = Math.min(lo, t.start()); hi = Math.max(hi, t.end()); }
      for (Turn t : hyp) { lo = Math.min(lo, t.start()); hi = Math.max(hi, t.end()); }
      if (hi > lo) base.add(new double[] {lo, hi});
    }
    base = union(base);
    if (collar <= 0) return base;
    List<double[]> holes = new ArrayList<>();
    for (Turn t : ref) {
      holes.add(new double[] {t.start() - collar, t.start() + collar});
      holes.add(new double[] {t.end() - collar, t.end() + collar});
    }
    return subtract(base, union(holes));
  }

  /** Sorted union of intervals. */
  static List<double[]> union(List<double[]> spans) {
    List<double[]> s = new ArrayList<>();
    for (double[] x : spans) if (x[1] > x[0]) s.add(new double[] {x[0], x[1]});
    s.sort((a, b) -> Double.compare(a[0], b[0]));
    List<double[]> out = new ArrayList<>();
    for (double[] x : s) {
      if (!out.isEmpty() && x[0] <= out.get(out.size() - 1)[1]) {
        double[] last = out.get(out.size() - 1);
        last[1] = Math.max(last[1], x[1]);
      } else {
        out.add(x);
      }
    }
    return out;
  }

  /** {@code a} minus {@code b}, both sorted unions. */
  static List<double[]> subtract(List<double[]> a, List<double[]> b) {
    List<double[]> out = new ArrayList<>();
    int j = 0;
    for (double[] x : a) {
      double cur = x[0];
      while (j < b.size() && b.get(j)[1] <= cur) j++;
      int k = j;
      while (k < b.size() && b.get(k)[0] < x[1]) {
        if (b.get(k)[0] > cur) out.add(new double[] {cur, b.get(k)[0]});
        cur = Math.max(cur, b.get(k)[1]);
        k++;
      }
      if (cur < x[1]) out.add(new double[] {cur, x[1]});
    }
    return out;
  }
}
