package dev.parley.http.web;

import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.ParsingErrorHandler;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.scaladsl.model.ErrorInfo;
import org.apache.pekko.http.scaladsl.model.StatusCode;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;

/**
 * Requests too malformed to reach the routes (bad request line, oversized headers, a declared
 * Content-Length above the limit ...) get the API's JSON error shape too. Set as
 * {@code pekko.http.server.parsing.error-handler} by the http role.
 */
public final class JsonParsingErrorHandler extends ParsingErrorHandler {
  @Override
  public HttpResponse handle(StatusCode status, ErrorInfo info, LoggingAdapter log, ServerSettings settings) {
    log.warning("illegal request: {}", info.formatPretty());
    String message = info.summary() == null || info.summary().isEmpty() ? status.reason() : info.summary();
    return ApiError.response(status, ApiError.code(status), message);
  }
}
