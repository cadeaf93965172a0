package dev.parley.gpu.training;

import static dev.parley.gpu.pipeline.audio.AudioDecoder.SAMPLE_RATE;

import dev.parley.gpu.eval.Turn;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Regions of a recording where exactly one reference speaker talks (training crops and EER
 * pieces), from turns read by {@link dev.parley.gpu.eval.Rttm}.
 */
public final class SpeakerRegions {
  /** A region of a file where only {@code speaker} is active, in samples at 16 kHz. */
  public record Region(String file, String speaker, int from, int to) {
    public double seconds() {
      return (to - from) / (double) SAMPLE_RATE;
    }
  }

  private SpeakerRegions() {}

  /**
   * Maximal single-speaker regions of {@code file} at 10 ms resolution, at least {@code minSeconds}
   * long, clipped to {@code samples}.
   *
   * @param turns reference turns by file id, as {@link dev.parley.gpu.eval.Rttm#read} gives them
   */
  public static List<Region> singleSpeaker(Map<String, List<Turn>> turns, String file, int samples, double minSeconds) {
    int frames = samples / 160;
    Map<String, boolean[]> active = new LinkedHashMap<>();
    for (Turn t : turns.getOrDefault(file, List.of())) {
      boolean[] a = active.computeIfAbsent(t.speaker(), k -> new boolean[frames]);
      int s = (int) Math.round(t.start() * 100);
      int e = (int) Math.round(t.end() * 100);
      for (int i = Math.max(0, s); i < Math.min(frames, e); i++) {
        a[i] = true;
      }
    }
    List<String> speakers = new ArrayList<>(active.keySet());
    int[] who = new int[frames];
    for (int i = 0; i < frames; i++) {
      int count = 0;
      int id = -1;
      for (int k = 0; k < speakers.size(); k++) {
        if (active.get(speakers.get(k))[i]) {
          count++;
          id = k;
        }
      }
      who[i] = count == 1 ? id : -1;
    }
    List<Region> out = new ArrayList<>();
    int i = 0;
    while (i < frames) {
      if (who[i] < 0) {
        i++;
        continue;
      }
      int j = i;
      while (j < frames && who[j] == who[i]) {
        j++;
      }
      if ((j - i) / 100.0 >= minSeconds) {
        out.add(new Region(file, speakers.get(who[i]), i * 160, Math.min(samples, j * 160)));
      }
      i = j;
    }
    return out;
  }
}
