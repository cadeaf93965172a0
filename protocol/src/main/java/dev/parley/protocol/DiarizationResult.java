package dev.parley.protocol;

import java.util.List;
import java.util.Map;

/**
 * Who spoke when in one recording: segments sorted by start (overlapping turns allowed),
 * speakers with talk time and centroid, the model identifiers and versions, and timing.
 */
public record DiarizationResult(
    List<Segment> segments, List<SpeakerSummary> speakers, Map<String, String> models, Timing timing)
    implements CborSerializable {

  /** RTTM lines (NIST format), one SPEAKER line per segment, for the given file id. */
  public String toRttm(String fileId) {
    StringBuilder sb = new StringBuilder();
    for (Segment s : segments) {
      sb.append(String.format(java.util.Locale.ROOT, "SPEAKER %s 1 %.3f %.3f <NA> <NA> %s <NA> <NA>%n",
          fileId, s.start(), s.end() - s.start(), s.speaker()));
    }
    return sb.toString();
  }
}
