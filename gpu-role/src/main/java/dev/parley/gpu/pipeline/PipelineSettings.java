package dev.parley.gpu.pipeline;

/**
 * Which models the pipeline loads and where it runs, as read once from configuration
 * ({@code PARLEY_VAD_MODEL}, {@code PARLEY_EMBEDDING_MODEL}, device). The pipeline itself never
 * reads the environment.
 *
 * @param vadModel empty or {@code parley} for Parley's own VAD, {@code energy}, a directory of
 *     {@code train-vad} weights, or the path of a Silero VAD TorchScript file
 * @param embeddingModel path of a TorchScript speaker model (WeSpeaker contract), or empty for
 *     Parley's committed default model
 * @param device {@code auto} (the GPU when DJL sees one), {@code cpu} or {@code gpu}
 * @param threads worker threads per recording for the VAD and embedding stages (0: one per
 *     processor)
 */
public record PipelineSettings(String vadModel, String embeddingModel, String device, int threads) {
  public static final PipelineSettings DEFAULT = new PipelineSettings("", "", "auto", 0);

  public PipelineSettings(String vadModel, String embeddingModel, String device) {
    this(vadModel, embeddingModel, device, 0);
  }

  public PipelineSettings {
    vadModel = vadModel == null ? "" : vadModel.trim();
    embeddingModel = embeddingModel == null ? "" : embeddingModel.trim();
    device = device == null || device.isBlank() ? "auto" : device.trim().toLowerCase(java.util.Locale.ROOT);
    if (!device.equals("auto") && !device.equals("cpu") && !device.equals("gpu"))
      throw new IllegalArgumentException("device must be auto, cpu or gpu, not " + device);
    if (threads < 0) throw new IllegalArgumentException("threads must be >= 0");
  }

  /** Reads the documented environment variables (for the command line; the worker passes its own settings). */
  public static PipelineSettings fromEnvironment() {
    String threads = System.getenv("PARLEY_PIPELINE_THREADS");
    int t;
    try {
      t = threads == null || threads.isBlank() ? 0 : Integer.parseInt(threads.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("PARLEY_PIPELINE_THREADS must be a whole number, not " + threads);
    }
    return new PipelineSettings(System.getenv("PARLEY_VAD_MODEL"), System.getenv("PARLEY_EMBEDDING_MODEL"),
        System.getenv("PARLEY_DEVICE"), t);
  }
}
