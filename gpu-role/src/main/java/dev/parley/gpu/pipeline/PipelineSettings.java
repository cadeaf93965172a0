package dev.parley.gpu.pipeline;

import com.typesafe.config.Config;
import java.util.Locale;

/**
 * Which models the pipeline loads and where it runs, as read once from configuration
 * ({@code parley.pipeline.*}: {@link #fromConfig}). The pipeline itself never reads the environment.
 *
 * @param vadModel empty or {@code parley} for Parley's own VAD, {@code energy}, a directory of
 *     {@code train-vad} weights, or the path of a Silero VAD TorchScript file
 * @param embeddingModel empty (or {@code default}) for Parley's committed model, a {@code train-embedding}
 *     output directory, or the path of a TorchScript speaker model (WeSpeaker contract); several
 *     separated by commas run as one ensemble ({@code EmbeddingModels.load})
 * @param device {@code auto} (the GPU when DJL sees one), {@code cpu} or {@code gpu}
 * @param threads worker threads per recording for the VAD and embedding stages (0: one per
 *     processor)
 */
public record PipelineSettings(String vadModel, String embeddingModel, String device, int threads) {
  public PipelineSettings(String vadModel, String embeddingModel, String device) {
    this(vadModel, embeddingModel, device, 0);
  }

  public PipelineSettings {
    vadModel = vadModel == null ? "" : vadModel.trim();
    embeddingModel = embeddingModel == null ? "" : embeddingModel.trim();
    device = device == null || device.isBlank() ? "auto" : device.trim().toLowerCase(Locale.ROOT);
    if (!device.equals("auto") && !device.equals("cpu") && !device.equals("gpu"))
      throw new IllegalArgumentException("device must be auto, cpu or gpu, not " + device);
    if (threads < 0) throw new IllegalArgumentException("threads must be >= 0");
  }

  /**
   * Reads {@code parley.pipeline.*}: {@code vad-model}, {@code embedding-model}, {@code device} and
   * {@code threads} ({@code PARLEY_VAD_MODEL}, {@code PARLEY_EMBEDDING_MODEL}, {@code PARLEY_DEVICE},
   * {@code PARLEY_PIPELINE_THREADS}). The node and the command line both build their pipeline from it.
   *
   * @throws IllegalArgumentException for a value out of range, naming its setting and variable
   */
  public static PipelineSettings fromConfig(Config parley) {
    Config p = parley.getConfig("pipeline");
    String threads = String.valueOf(p.getValue("threads").unwrapped()).trim(); // an environment variable is a string
    int t;
    try {
      t = threads.isEmpty() ? 0 : Integer.parseInt(threads);
    } catch (NumberFormatException e) {
      t = -1;
    }
    if (t < 0) {
      throw new IllegalArgumentException(
          "parley.pipeline.threads (PARLEY_PIPELINE_THREADS) must be a whole number, 0 or more, not " + threads);
    }
    return new PipelineSettings(p.getString("vad-model"), p.getString("embedding-model"), p.getString("device"), t);
  }
}
