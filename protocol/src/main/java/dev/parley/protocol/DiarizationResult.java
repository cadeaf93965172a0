package dev.parley.protocol;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Who spoke when in one recording: segments sorted by start (overlapping turns allowed),
 * speakers with talk time and centroid, the model identifiers and versions, timing, and warnings
 * about the input (a recording that ends before its header says, damaged data skipped).
 */
public record DiarizationResult(
    List<Segment> segments, List<SpeakerSummary> speakers, Map<String, String> models, Timing timing,
    List<String> warnings) implements CborSerializable {

  public DiarizationResult {
    // a result missing a list (journaled before warnings existed, or sent without one) has none: a null
    // would stop the meeting that reads it and the read side that lists it
    segments = segments == null ? List.of() : segments;
    speakers = speakers == null ? List.of() : speakers;
    warnings = warnings == null ? List.of() : List.copyOf(warnings);
  }

  public DiarizationResult(List<Segment> segments, List<SpeakerSummary> speakers, Map<String, String> models,
      Timing timing) {
    this(segments, speakers, models, timing, List.of());
  }

  /** This result with {@code more} warnings after its own. */
  public DiarizationResult withWarnings(List<String> more) {
    if (more.isEmpty()) return this;
    List<String> all = new ArrayList<>(warnings);
    all.addAll(more);
    return new DiarizationResult(segments, speakers, models, timing, all);
  }

  /** RTTM lines (NIST format), one SPEAKER line per segment, for the given file id. */
  public String toRttm(String fileId) {
    StringBuilder sb = new StringBuilder();
    for (Segment s : segments) {
      sb.append(String.format(Locale.ROOT, "SPEAKER %s 1 %.3f %.3f <NA> <NA> %s <NA> <NA>%n",
          fileId, s.start(), s.end() - s.start(), s.speaker()));
    }
    return sb.toString();
  }
}
