package dev.parley.gpu.embedding;

import ai.djl.Device;
import java.nio.file.Path;

/**
 * Chooses the speaker embedding model: Parley's committed one by default, other {@code
 * train-embedding} weights when a directory is given, a TorchScript file otherwise.
 */
public final class EmbeddingModels {
  /** Environment variable naming a TorchScript speaker model that replaces the default. */
  public static final String ENV = "PARLEY_EMBEDDING_MODEL";

  private EmbeddingModels() {}

  /**
   * @param pathOrEmpty null/blank for the committed default model; a directory holding {@code
   *     parley-embed.params} and {@code model.properties} (a {@code train-embedding} output); or a
   *     TorchScript file with the WeSpeaker contract
   * @param device where to run (null: DJL's default device, the GPU when there is one)
   */
  public static SpeakerEmbeddingModel load(String pathOrEmpty, Device device) {
    if (pathOrEmpty == null || pathOrEmpty.isBlank()) {
      return DefaultSpeakerModel.load(device);
    }
    Path path = Path.of(pathOrEmpty.trim());
    if (java.nio.file.Files.isDirectory(path)) {
      return DefaultSpeakerModel.loadDirectory(path, device);
    }
    return TorchScriptSpeakerModel.load(path, device);
  }

  /** Honours {@value #ENV}. */
  public static SpeakerEmbeddingModel fromEnvironment(Device device) {
    return load(System.getenv(ENV), device);
  }
}
