package dev.parley.gpu.eval;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** NIST UEM: {@code <file> <chan> <start> <end>} per line, the regions that are scored. */
public final class Uem {
  private Uem() {}

  /** A scored region in seconds. */
  public record Region(double start, double end) {
    public Region {
      if (!(end >= start)) throw new IllegalArgumentException("region ends before it starts");
    }
  }

  public static Map<String, List<Region>> read(Path path) throws IOException {
    return parse(Rttm.readText(path), path.toString());
  }

  public static Map<String, List<Region>> parse(String text, String source) {
    Map<String, List<Region>> out = new LinkedHashMap<>();
    String[] lines = text.split("\r?\n");
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (line.isEmpty() || line.startsWith(";;") || line.startsWith("#")) continue;
      String[] f = line.split("\\s+");
      if (f.length < 4) throw new IllegalArgumentException(source + ":" + (i + 1) + ": a UEM line needs 4 fields: file channel start end");
      try {
        double s = Double.parseDouble(f[2]);
        double e = Double.parseDouble(f[3]);
        if (!(s >= 0) || !(e >= s)) throw new IllegalArgumentException(source + ":" + (i + 1) + ": invalid region: " + line);
        out.computeIfAbsent(f[0], k -> new ArrayList<>()).add(new Region(s, e));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(source + ":" + (i + 1) + ": bad number: " + line);
      }
    }
    return out;
  }
}
