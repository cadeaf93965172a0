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
 * @param audioStreams how many audio streams (tracks) the input has
 * @param video whether the input has a video stream, whose duration the container's may be
 * @param refusedFormat the format ffmpeg recognised and was not allowed to open ({@link AudioDecoder#FORMATS}), or null
 */
record DecoderLog(List<String> errors, Double declaredSeconds, int audioStreams, boolean video, String refusedFormat) {
  /** "[mp3 @ 0x3c94ed80] [warning] message" or "[error] message" */
  private static final Pattern LINE = Pattern.compile("^(?:\\[([^\\]@]*?) ?@ ?0x[0-9a-fA-F]+\\] )?\\[(\\w+)\\] (.*)$");
  private static final Pattern DURATION = Pattern.compile("^\\s*Duration: (\\d+):(\\d\\d):(\\d\\d(?:\\.\\d+)?)");
  /** "Stream #0:1(eng): Audio: aac ..." of the input (#0), not of the output (#0 too, after "Output #0") */
  private static final Pattern STREAM = Pattern.compile("^Stream #0:\\d+\\S*: (Audio|Video):");
  /**
   * How much shorter than its header a recording may decode before it is called cut short: codec
   * delay and padding, and the last partial frame, are a few hundredths of a second.
   */
  static final double SHORTFALL_SECONDS = 1.0;

  static DecoderLog parse(String log) {
    List<String> errors = new ArrayList<>();
    Double declared = null;
    String refused = null;
    boolean estimated = false;
    int audio = 0;
    boolean video = false;
    boolean output = false;
    for (String line : log.split("\\R")) {
      Matcher m = LINE.matcher(line);
      if (!m.matches()) continue;
      String level = m.group(2);
      String text = m.group(3).strip();
      if (text.startsWith("Format not on whitelist") && m.group(1) != null) refused = m.group(1);
      if (text.startsWith("Output #")) output = true;
      Matcher stream = STREAM.matcher(text);
      if (level.equals("info") && !output && stream.find()) {
        if (stream.group(1).equals("Audio")) audio++;
        else if (!text.contains("(attached pic)")) video = true; // cover art is no picture that runs on
      }
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
    return new DecoderLog(List.copyOf(errors), estimated ? null : declared, audio, video, refused);
  }

  /** This log with the duration a header read elsewhere declares. */
  DecoderLog declaring(double seconds) {
    return new DecoderLog(errors, seconds, audioStreams, video, refusedFormat);
  }

  /** ffmpeg's reason for refusing a file, in words a user can act on: its first error (the later ones follow from it). */
  String reason() {
    if (errors.stream().anyMatch(e -> e.contains("matches no streams"))) {
      return "the file has no audio stream"; // "-map 0:a:0" finds nothing: an image, a video without sound
    }
    if (errors.stream().anyMatch(e -> e.contains("moov atom not found"))) {
      // MP4/M4A/MOV keep their index at the end unless written for streaming: a cut file has none
      return "the file's index (its moov atom) is missing: an MP4, M4A or MOV file cut off before its end, which"
          + " cannot be read without it (a recording written for streaming, with its index first, can be)";
    }
    if (refusedFormat != null) {
      return "not an audio or video file: it reads as '" + refusedFormat + "' (a playlist, a list of other files or a"
          + " picture), which Parley does not decode";
    }
    if (errors.stream().anyMatch(e -> e.contains("no 'data' tag found"))) {
      return "a WAV header without audio data (no 'data' chunk)";
    }
    return errors.isEmpty() ? "the decoder rejected the file" : errors.get(0);
  }

  /** What a decode that succeeded with {@code decodedSeconds} of audio should tell the user. */
  List<String> warnings(double decodedSeconds) {
    List<String> out = new ArrayList<>(2);
    if (declaredSeconds != null && decodedSeconds < declaredSeconds - SHORTFALL_SECONDS) {
      if (video) {
        out.add(String.format(Locale.ROOT, "the sound ends at %s, before the %s the file declares (its picture may"
            + " run longer, or the recording was cut off)", clock(decodedSeconds), clock(declaredSeconds)));
      } else if (!errors.isEmpty()) {
        // a cut, or damage inside that the decoder skipped without keeping its time (an MP3): the
        // log cannot tell where the errors were
        out.add(String.format(Locale.ROOT, "the recording ends early: %s decoded of the %s its header declares (was"
            + " the upload or recording cut off? if it is damaged inside instead, the turns after the damage come"
            + " early; the decoder said: %s)", clock(decodedSeconds), clock(declaredSeconds), errors.get(0)));
      } else {
        out.add(String.format(Locale.ROOT,
            "the recording ends early: %s decoded of the %s its header declares (was the upload or recording cut off?)",
            clock(decodedSeconds), clock(declaredSeconds)));
      }
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
