package dev.parley.gpu.pipeline.audio;

import java.util.List;

/**
 * A recording decoded to 16 kHz mono float, and what the user should know about how it decoded:
 * that it ends before its header says it does, or that damaged data was skipped.
 */
public record DecodedAudio(float[] samples, List<String> warnings) {
  public DecodedAudio {
    warnings = List.copyOf(warnings);
  }
}
