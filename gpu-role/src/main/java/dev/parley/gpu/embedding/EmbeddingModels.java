package dev.parley.gpu.embedding;

import ai.djl.Device;
import java.nio.file.Path;

/** Chooses the speaker embedding model: a TorchScript file when a path is given, else Parley's own. */
public final class EmbeddingModels {
  /** Environment variable naming a TorchScript speaker model that replaces the default. */
  public static final String ENV = "PARLEY_EMBEDDING_MODEL";

  private EmbeddingModels() {}

  /**
   * @param pathOrEmpty a TorchScript file with the WeSpeaker contract, or null/blank for the
   *     committed default model
   * @param device where to run (null: DJL's default device, the GPU when there is one)
   */
  public static SpeakerEmbeddingModel load(String pathOrEmpty, Device device) {
    if (pathOrEmpty == null || pathOrEmpty.isBlank()) {
      return DefaultSpeakerModel.load(device);
    }
    return TorchScriptSpeakerModel.load(Path.of(pathOrEmpty.trim()), device);
  }

  /** Honours {@value #ENV}. */
  public static SpeakerEmbeddingModel fromEnvironment(Device device) {
    return load(System.getenv(ENV), device);
  }
}
