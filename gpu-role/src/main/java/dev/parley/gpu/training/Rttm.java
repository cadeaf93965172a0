package dev.parley.gpu.training;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reads reference RTTM and finds regions where exactly one speaker talks (for training and EER). */
public final class Rttm {
  /** One reference turn. */
  public record Turn(String file, double start, double duration, String speaker) {}

  /** A region of a file where only {@code speaker} is active, in samples at 16 kHz. */
  public record Region(String file, String speaker, int from, int to) {
    public double seconds() {
      return (to - from) / 16000.0;
    }
  }

  private Rttm() {}

  public static List<Turn> read(Path rttm) throws IOException {
    List<Turn> turns = new ArrayList<>();
    for (String line : Files.readAllLines(rttm, StandardCharsets.UTF_8)) {
      String[] p = line.trim().split("\\s+");
      if (p.length < 8 || !p[0].equals("SPEAKER")) {
        continue;
      }
      turns.add(new Turn(p[1], Double.parseDouble(p[3]), Double.parseDouble(p[4]), p[7]));
    }
    return turns;
  }

  /**
   * Maximal single-speaker regions of {@code file} at 10 ms resolution, at least {@code minSeconds}
   * long, clipped to {@code samples}.
   */
  public static List<Region> singleSpeakerRegions(
      List<Turn> turns, String file, int samples, double minSeconds) {
    int frames = samples / 160;
    Map<String, boolean[]> active = new LinkedHashMap<>();
    for (Turn t : turns) {
      if (!t.file().equals(file)) {
        continue;
      }
      boolean[] a = active.computeIfAbsent(t.speaker(), k -> new boolean[frames]);
      int s = (int) Math.round(t.start() * 100);
      int e = (int) Math.round((t.start() + t.duration()) * 100);
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
