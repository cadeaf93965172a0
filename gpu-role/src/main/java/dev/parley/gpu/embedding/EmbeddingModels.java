package dev.parley.gpu.embedding;

import ai.djl.Device;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Chooses the speaker embedding model: Parley's committed one by default, other {@code
 * train-embedding} weights when a directory is given, a TorchScript file otherwise, and an {@link
 * EnsembleSpeakerModel} of several when they are separated by commas.
 */
public final class EmbeddingModels {
  /** Names the committed default model inside a list, e.g. {@code default,/work/train/run2}. */
  public static final String DEFAULT = "default";

  private EmbeddingModels() {}

  /**
   * @param pathOrEmpty null/blank or {@value #DEFAULT} for the committed default model; a directory holding {@code
   *     parley-embed.params} and {@code model.properties} (a {@code train-embedding} output); or a
   *     TorchScript file with the WeSpeaker contract; or several of these separated by commas,
   *     run as one {@link EnsembleSpeakerModel}
   * @param device where to run (null: DJL's default device, the GPU when there is one)
   */
  public static SpeakerEmbeddingModel load(String pathOrEmpty, Device device) {
    if (pathOrEmpty == null || pathOrEmpty.isBlank()) {
      return TdnnSpeakerModel.load(device);
    }
    String[] parts = pathOrEmpty.split(",", -1);
    if (parts.length > 1) {
      List<SpeakerEmbeddingModel> members = new ArrayList<>();
      try {
        for (String part : parts) {
          if (part.isBlank()) {
            throw new IllegalArgumentException("empty entry in the speaker model list '" + pathOrEmpty + "'");
          }
          members.add(loadOne(part.trim(), device));
        }
      } catch (RuntimeException e) {
        members.forEach(SpeakerEmbeddingModel::close);
        throw e;
      }
      return new EnsembleSpeakerModel(members);
    }
    return loadOne(pathOrEmpty.trim(), device);
  }

  private static SpeakerEmbeddingModel loadOne(String spec, Device device) {
    if (spec.equals(DEFAULT)) {
      return TdnnSpeakerModel.load(device);
    }
    Path path = Path.of(spec);
    if (Files.isDirectory(path)) {
      return TdnnSpeakerModel.loadDirectory(path, device);
    }
    return TorchScriptSpeakerModel.load(path, device);
  }
}
