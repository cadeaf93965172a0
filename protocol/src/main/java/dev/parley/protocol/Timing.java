package dev.parley.protocol;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How long a diarization took and where it ran.
 *
 * @param stageSeconds seconds per pipeline stage, in the order they ran (decode, vad,
 *     features+embedding, clustering, segmentation, overlap); empty in results journaled before it existed
 */
public record Timing(double audioSeconds, double processingSeconds, double realTimeFactor, String device,
    Map<String, Double> stageSeconds) implements CborSerializable {

  public Timing {
    stageSeconds = stageSeconds == null ? Map.of() : Collections.unmodifiableMap(
        new LinkedHashMap<>(stageSeconds));
  }

  public Timing(double audioSeconds, double processingSeconds, double realTimeFactor, String device) {
    this(audioSeconds, processingSeconds, realTimeFactor, device, Map.of());
  }
}
