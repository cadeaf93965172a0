package dev.parley.gpu.eval;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * NIST RTTM: {@code SPEAKER <file> <chan> <start> <dur> <NA> <NA> <speaker> <NA> <NA>}. Only SPEAKER
 * lines are read; comments ({@code ;;} or {@code #}) and blank lines are skipped. Parley writes RTTM
 * with {@code DiarizationResult.toRttm}.
 */
public final class Rttm {
  private Rttm() {}

  /** Turns grouped by file id, in file order. */
  public static Map<String, List<Turn>> read(Path path) throws IOException {
    return parse(readText(path), path.toString());
  }

  /** A reference file's text: UTF-8, a leading byte-order mark dropped, errors naming the file. */
  static String readText(Path path) throws IOException {
    try {
      String s = Files.readString(path, StandardCharsets.UTF_8);
      return s.startsWith("\uFEFF") ? s.substring(1) : s;
    } catch (CharacterCodingException e) {
      throw new IOException(path + " is not UTF-8 text");
    } catch (NoSuchFileException e) {
      throw new IOException("no such file: " + path);
    } catch (IOException e) {
      throw new IOException("cannot read " + path + ": " + e.getMessage(), e);
    }
  }

  public static Map<String, List<Turn>> parse(String text, String source) {
    Map<String, List<Turn>> out = new LinkedHashMap<>();
    String[] lines = text.split("\r?\n");
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (line.isEmpty() || line.startsWith(";;") || line.startsWith("#")) continue;
      String[] f = line.split("\\s+");
      if (!f[0].equals("SPEAKER")) continue;
      if (f.length < 8) throw new IllegalArgumentException(source + ":" + (i + 1) + ": an RTTM SPEAKER line needs at least 8 fields");
      double start;
      double dur;
      try {
        start = Double.parseDouble(f[3]);
        dur = Double.parseDouble(f[4]);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(source + ":" + (i + 1) + ": bad start or duration: " + line);
      }
      if (!(start >= 0) || !(dur >= 0) || !Double.isFinite(start + dur))
        throw new IllegalArgumentException(source + ":" + (i + 1) + ": negative or invalid time: " + line);
      out.computeIfAbsent(f[1], k -> new ArrayList<>()).add(new Turn(f[1], start, start + dur, f[7]));
    }
    return out;
  }
}
