package dev.parley.http.web;

import org.apache.pekko.http.javadsl.model.StatusCode;

/** A failure with its HTTP status and error code; thrown from route logic and async stages. */
public final class ApiException extends RuntimeException {
  private final StatusCode status;
  private final String error;

  public ApiException(StatusCode status, String error, String message) {
    super(message, null, false, false);
    this.status = status;
    this.error = error;
  }

  public ApiException(StatusCode status, String message) {
    this(status, ApiError.code(status), message);
  }

  public StatusCode status() {
    return status;
  }

  public String error() {
    return error;
  }
}
