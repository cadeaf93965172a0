package dev.parley.gpu.pipeline.audio;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What ffmpeg logged while decoding (run with {@code -loglevel level+info}, so every line carries its
 * level): its error messages, and the input's duration when the container declares one.
 *
 * @param errors error and fatal messages, without ffmpeg's level tag and component prefix
 * @param declaredSeconds the duration the input's header declares; null when it declares none, or
 *     when ffmpeg only estimated it from the bit rate (an MP3 without a length header)
 */
record DecoderLog(List<String> errors, Double declaredSeconds) {
  /** "[mp3 @ 0x3c94ed80] [warning] message" or "[error] message" */
  private static final Pattern LINE = Pattern.compile("^(?:\\[[^\\]]*@ ?0x[0-9a-fA-F]+\\] )?\\[(\\w+)\\] (.*)$");
  private static final Pattern DURATION = Pattern.compile("^\\s*Duration: (\\d+):(\\d\\d):(\\d\\d(?:\\.\\d+)?)");
  /**
   * How much shorter than its header a recording may decode before it is called cut short: codec
   * delay and padding, and the last partial frame, are a few hundredths of a second.
   */
  static final double SHORTFALL_SECONDS = 1.0;

  static DecoderLog parse(String log) {
    List<String> errors = new ArrayList<>();
    Double declared = null;
    boolean estimated = false;
    for (String line : log.split("\\R")) {
      Matcher m = LINE.matcher(line);
      if (!m.matches()) continue;
      String level = m.group(1);
      String text = m.group(2).strip();
      if (level.equals("error") || level.equals("fatal") || level.equals("panic")) {
        if (!text.isEmpty()) errors.add(withoutInputPath(text));
      } else if (level.equals("warning") && text.startsWith("Estimating duration from bitrate")) {
        estimated = true;
      } else if (level.equals("info") && declared == null) {
        Matcher d = DURATION.matcher(text);
        if (d.find()) {
          declared = Integer.parseInt(d.group(1)) * 3600.0 + Integer.parseInt(d.group(2)) * 60.0
              + Double.parseDouble(d.group(3));
        }
      }
    }
    return new DecoderLog(List.copyOf(errors), estimated ? null : declared);
  }

  /** This log with the duration a header read elsewhere declares. */
  DecoderLog declaring(double seconds) {
    return new DecoderLog(errors, seconds);
  }

  /** ffmpeg's reason for refusing a file, in words a user can act on: its first error (the later ones follow from it). */
  String reason() {
    if (errors.stream().anyMatch(e -> e.contains("matches no streams"))) {
      return "the file has no audio stream"; // "-map 0:a:0" finds nothing: an image, a video without sound
    }
    return errors.isEmpty() ? "the decoder rejected the file" : errors.get(0);
  }

  /** What a decode that succeeded with {@code decodedSeconds} of audio should tell the user. */
  List<String> warnings(double decodedSeconds) {
    List<String> out = new ArrayList<>(2);
    if (declaredSeconds != null && decodedSeconds < declaredSeconds - SHORTFALL_SECONDS) {
      out.add(String.format(Locale.ROOT,
          "the recording ends early: %s decoded of the %s its header declares (was the upload or recording cut off?)",
          clock(decodedSeconds), clock(declaredSeconds)));
    }
    if (out.isEmpty() && !errors.isEmpty()) { // a cut explains the errors of its last frame
      out.add(String.format(Locale.ROOT, "the decoder skipped damaged data: %s%s", errors.get(0),
          errors.size() == 1 ? "" : " (and " + (errors.size() - 1) + " more error" + (errors.size() == 2 ? ")" : "s)")));
    }
    return out;
  }

  /** "0:15.0", "1:02:03.5" */
  static String clock(double seconds) {
    long tenths = Math.round(seconds * 10);
    long h = tenths / 36000;
    long m = tenths / 600 % 60;
    double s = tenths % 600 / 10.0;
    return h > 0 ? String.format(Locale.ROOT, "%d:%02d:%04.1f", h, m, s) : String.format(Locale.ROOT, "%d:%04.1f", m, s);
  }

  /** ffmpeg prefixes some messages with the input's path ("/tmp/x.mp3: Invalid data ..."). */
  private static String withoutInputPath(String text) {
    if (text.startsWith("/")) {
      int idx = text.indexOf(": ");
      if (idx > 0 && idx < text.length() - 2) return text.substring(idx + 2);
    }
    return text;
  }
}
