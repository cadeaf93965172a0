package dev.parley.gpu.pipeline.vad;

import dev.parley.gpu.pipeline.DiarizationException;

/**
 * Finds speech in 16 kHz mono audio. Implementations are thread-safe: concurrent calls for
 * different recordings do not share state.
 */
public interface VoiceActivityDetector extends AutoCloseable {

  /** Speech activity at 10 ms resolution, {@link SpeechMask#frameCount} frames long, not padded. */
  SpeechMask detect(float[] samples) throws DiarizationException;

  /**
   * Seconds by which the reported turns reach beyond each speech run {@link #detect} finds: how far
   * this detector's boundaries tend to fall inside the speech.
   */
  double turnPadSeconds();

  /** Identifier recorded with each result, e.g. {@code energy-vad} or the model file name. */
  String id();

  /** Version recorded with each result (for a model file: its SHA-256 prefix). */
  String version();

  @Override
  void close();
}
