package dev.parley.http.web;

import java.util.List;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.StatusCode;

/** A failure with its HTTP status and error code; thrown from route logic and async stages. */
public final class ApiException extends RuntimeException {
  private final StatusCode status;
  private final String error;
  private final List<HttpHeader> headers;

  /** {@code headers} go out with the error response (Retry-After, ...). */
  public ApiException(StatusCode status, String error, String message, HttpHeader... headers) {
    super(message, null, false, false);
    this.status = status;
    this.error = error;
    this.headers = List.of(headers);
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

  public List<HttpHeader> headers() {
    return headers;
  }
}
