package dev.parley.gpu.pipeline;

/**
 * Which models the pipeline loads and where it runs, as read once from configuration
 * ({@code PARLEY_VAD_MODEL}, {@code PARLEY_EMBEDDING_MODEL}, device). The pipeline itself never
 * reads the environment.
 *
 * @param vadModel path of a Silero VAD TorchScript file, or empty for the built-in energy VAD
 * @param embeddingModel path of a TorchScript speaker model (WeSpeaker contract), or empty for
 *     Parley's committed default model
 * @param device {@code auto} (the GPU when DJL sees one), {@code cpu} or {@code gpu}
 */
public record PipelineSettings(String vadModel, String embeddingModel, String device) {
  public static final PipelineSettings DEFAULT = new PipelineSettings("", "", "auto");

  public PipelineSettings {
    vadModel = vadModel == null ? "" : vadModel.trim();
    embeddingModel = embeddingModel == null ? "" : embeddingModel.trim();
    device = device == null || device.isBlank() ? "auto" : device.trim().toLowerCase(java.util.Locale.ROOT);
    if (!device.equals("auto") && !device.equals("cpu") && !device.equals("gpu"))
      throw new IllegalArgumentException("device must be auto, cpu or gpu, not " + device);
  }

  /** Reads the documented environment variables (for the command line; the worker passes its own settings). */
  public static PipelineSettings fromEnvironment() {
    return new PipelineSettings(System.getenv("PARLEY_VAD_MODEL"), System.getenv("PARLEY_EMBEDDING_MODEL"),
        System.getenv("PARLEY_DEVICE"));
  }
}
