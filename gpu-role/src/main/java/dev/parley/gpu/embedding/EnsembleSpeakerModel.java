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
 * with different random draws err differently (docs/MODEL_CARD.md measures how far apart single
 * runs land), and the mean of their similarities is steadier than any one of them.
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

  /** The member models, in order. */
  public List<SpeakerEmbeddingModel> members() {
    return members;
  }

  @Override
  public NDArray embed(NDArray features) {
    float scale = (float) (1 / Math.sqrt(members.size()));
    NDList parts = new NDList(members.size());
    try {
      for (SpeakerEmbeddingModel m : members) {
        NDArray e = m.embed(features);
        NDArray norm = e.norm(new int[] {1}, true).maximum(1e-12f);
        parts.add(e.div(norm).muli(scale));
        e.close();
        norm.close();
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
