package dev.parley.node;

import com.typesafe.config.Config;
import dev.parley.gpu.pipeline.DiarizationPipeline;
import dev.parley.gpu.pipeline.Diarizer;
import dev.parley.gpu.pipeline.PipelineSettings;

/** Builds the real diarization pipeline a gpu node runs, from {@code parley.pipeline.*}. */
final class Pipelines {
  private Pipelines() {}

  /** {@code parley.pipeline.vad-model}, {@code embedding-model}, {@code device} ({@code PARLEY_VAD_MODEL}, ...). */
  static PipelineSettings settings(Config parley) {
    Config p = parley.getConfig("pipeline");
    return new PipelineSettings(p.getString("vad-model"), p.getString("embedding-model"), p.getString("device"));
  }

  static Diarizer create(Config parley) {
    return DiarizationPipeline.create(settings(parley));
  }
}
