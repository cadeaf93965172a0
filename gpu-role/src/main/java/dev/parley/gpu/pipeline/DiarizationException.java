package dev.parley.gpu.pipeline;

/**
 * A diarization that could not finish. {@code retryable=false} means the input is at fault
 * (not audio, corrupt, empty): retrying cannot help and the meeting ends failed with this message.
 */
public class DiarizationException extends Exception {
  private final boolean retryable;

  public DiarizationException(String message, boolean retryable, Throwable cause) {
    super(message, cause);
    this.retryable = retryable;
  }

  public DiarizationException(String message, boolean retryable) {
    this(message, retryable, null);
  }

  /**
   * For long native stages: a cancelled job interrupts its thread, and the stage calls this between
   * its steps, so that it stops there rather than after the whole recording.
   */
  public static void throwIfInterrupted(String stage) throws DiarizationException {
    if (Thread.currentThread().isInterrupted()) {
      throw new DiarizationException("interrupted during " + stage, true);
    }
  }

  public boolean retryable() {
    return retryable;
  }
}
