package dev.parley.gpu.embedding;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Several speaker models run on the same features as one: each member's embedding is
 * L2-normalised, scaled by {@code 1/sqrt(n)} and the results concatenated, so the output is unit
 * length and its cosine similarity is the mean of the members' cosine similarities. Models trained
 * with different random draws err differently; three runs of Parley's recipe as one gave better
 * held-out EERs than any of them, though not better DER (docs/MODEL_CARD.md, "Several runs as one
 * model").
 *
 * <p>Thread-safe when its members are. Closing it closes the members.
 */
public final class EnsembleSpeakerModel implements SpeakerEmbeddingModel {
  private final List<SpeakerEmbeddingModel> members;
  private final String id;
  private final String version;
  private final int dimension;

  /** @param members two or more models; this ensemble owns them from now on */
  public EnsembleSpeakerModel(List<SpeakerEmbeddingModel> members) {
    if (members.size() < 2) {
      throw new IllegalArgumentException("an ensemble needs two or more speaker models, got " + members.size());
    }
    this.members = List.copyOf(members);
    this.id = "ensemble(" + this.members.stream().map(SpeakerEmbeddingModel::id).collect(Collectors.joining("+")) + ")";
    this.version = this.members.stream().map(SpeakerEmbeddingModel::version).collect(Collectors.joining("+"));
    this.dimension = this.members.stream().mapToInt(SpeakerEmbeddingModel::dimension).sum();
  }

  @Override
  public NDArray embed(NDArray features) {
    float scale = (float) (1 / Math.sqrt(members.size()));
    NDList parts = new NDList(members.size());
    try {
      for (SpeakerEmbeddingModel m : members) {
        try (NDArray e = m.embed(features);
            NDArray length = e.norm(new int[] {1}, true);
            NDArray divisor = length.maximum(1e-12f)) {
          parts.add(e.div(divisor).muli(scale));
        }
      }
      return NDArrays.concat(parts, 1);
    } finally {
      parts.close();
    }
  }

  @Override
  public int dimension() {
    return dimension;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String version() {
    return version;
  }

  @Override
  public void close() {
    RuntimeException failure = null;
    for (SpeakerEmbeddingModel m : members) {
      try {
        m.close();
      } catch (RuntimeException e) {
        if (failure == null) failure = e;
        else failure.addSuppressed(e);
      }
    }
    if (failure != null) throw failure;
  }
}
