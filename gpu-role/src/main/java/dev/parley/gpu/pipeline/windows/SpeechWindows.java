package dev.parley.gpu.pipeline.windows;

import dev.parley.gpu.pipeline.PipelineParams;
import dev.parley.gpu.pipeline.vad.SpeechMask;
import java.util.ArrayList;
import java.util.List;

/**
 * Places embedding windows over speech: sliding windows of {@code windowSeconds} every
 * {@code hopSeconds} inside each speech run (the last one flush with the run's end); a run shorter
 * than a window gets one window centred on it (borrowing context around it); runs shorter than
 * {@code minSpeechSeconds} get none. All windows have the same length unless the recording itself
 * is shorter, so they batch together.
 */
public final class SpeechWindows {
  private SpeechWindows() {}

  public static List<Window> plan(SpeechMask mask, PipelineParams.Embedding p) {
    int total = mask.length();
    int w = Math.min(total, (int) Math.round(p.windowSeconds() / SpeechMask.FRAME_SECONDS));
    int hop = Math.max(1, (int) Math.round(p.hopSeconds() / SpeechMask.FRAME_SECONDS));
    int minRun = (int) Math.round(p.minSpeechSeconds() / SpeechMask.FRAME_SECONDS);
    List<Window> out = new ArrayList<>();
    if (w <= 0) return out;
    for (SpeechMask.Region r : mask.regions()) {
      int len = r.length();
      if (len < minRun) continue;
      if (len <= w) {
        int start = r.start() + len / 2 - w / 2;
        start = Math.max(0, Math.min(total - w, start));
        out.add(new Window(start, start + w, len * SpeechMask.FRAME_SECONDS));
        continue;
      }
      List<Integer> starts = new ArrayList<>();
      for (int s = r.start(); s + w <= r.end(); s += hop) starts.add(s);
      if (starts.get(starts.size() - 1) + w < r.end()) starts.add(r.end() - w);
      double share = len * SpeechMask.FRAME_SECONDS / starts.size();
      for (int s : starts) out.add(new Window(s, s + w, share));
    }
    return out;
  }
}
