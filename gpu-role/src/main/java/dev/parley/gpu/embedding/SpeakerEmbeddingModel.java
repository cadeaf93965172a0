package dev.parley.gpu.embedding;

import ai.djl.ndarray.NDArray;

/**
 * A neural speaker model with WeSpeaker's TorchScript contract: log-mel filterbank features
 * {@code [batch, frames, 80]} (Kaldi-compatible fbank, mean-normalised over each window's frames)
 * in, speaker embeddings {@code [batch, dim]} out. The result lives on the input's NDManager.
 * Implementations are thread-safe.
 */
public interface SpeakerEmbeddingModel extends AutoCloseable {

  NDArray embed(NDArray features);

  int dimension();

  /** A short identifier, e.g. {@code parley-tdnn} or the TorchScript file name. */
  String id();

  /** A version string (for a file: its SHA-256 prefix), recorded with every result. */
  String version();

  @Override
  void close();
}
