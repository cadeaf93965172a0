package dev.parley.gpu.pipeline.audio;

/**
 * The input could not be decoded as audio; the message is fit to show to a user. {@link #retryable()}
 * says the trouble was this node's (a temp file it could not write, a decoder it lost to a signal),
 * not the file's, so another attempt may succeed.
 */
public class AudioDecodeException extends Exception {
  private final boolean retryable;

  public AudioDecodeException(String message) {
    this(message, false, null);
  }

  public AudioDecodeException(String message, Throwable cause) {
    this(message, false, cause);
  }

  public AudioDecodeException(String message, boolean retryable, Throwable cause) {
    super(message, cause);
    this.retryable = retryable;
  }

  /** The node's trouble, not the file's: another attempt may decode it. */
  public boolean retryable() {
    return retryable;
  }
}
