package dev.parley.gpu.pipeline.audio;

/** The input could not be decoded as audio; the message is fit to show to a user. */
public class AudioDecodeException extends Exception {
  public AudioDecodeException(String message) {
    super(message);
  }

  public AudioDecodeException(String message, Throwable cause) {
    super(message, cause);
  }
}
