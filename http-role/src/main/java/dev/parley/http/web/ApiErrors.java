package dev.parley.http.web;

import static org.apache.pekko.http.javadsl.server.Directives.complete;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.UndeclaredThrowableException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientConnectionException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.MalformedRequestContentRejection;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.scaladsl.model.EntityStreamException;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.http.scaladsl.model.ExceptionWithErrorInfo;
import org.apache.pekko.http.scaladsl.model.IllegalHeaderException;
import org.apache.pekko.http.scaladsl.model.IllegalRequestException;
import org.apache.pekko.http.scaladsl.model.ParsingException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Rejections and exceptions as the API's JSON error shape, with the right status. */
public final class ApiErrors {
  private static final Logger log = LoggerFactory.getLogger(ApiErrors.class);

  private ApiErrors() {}

  // built once: the Java routing DSL calls its inner suppliers on every request
  private static final RejectionHandler REJECTIONS = RejectionHandler.newBuilder()
      // a JSON body over its limit: 413 in the API's words, not Pekko's text naming its own settings
      .handle(MalformedRequestContentRejection.class, r -> complete(
          findSizeOrApi(r.getCause()) instanceof EntityStreamSizeException size ? toResponse(size)
              : ApiError.response(StatusCodes.BAD_REQUEST, "bad_request", "The request content was malformed: " + r.message())))
      .build()
      .withFallback(RejectionHandler.defaultHandler())
      .mapRejectionResponse(ApiErrors::toJson);
  private static final ExceptionHandler EXCEPTIONS =
      ExceptionHandler.newBuilder().matchAny(t -> complete(toResponse(t))).build();

  /** Pekko's default rejection statuses and texts, rendered as {@code {"error","message"}}. */
  public static RejectionHandler rejectionHandler() {
    return REJECTIONS;
  }

  private static HttpResponse toJson(HttpResponse r) {
    HttpEntity e = r.entity();
    if (e.getContentType().equals(ContentTypes.APPLICATION_JSON)) return r;
    String text = e instanceof HttpEntity.Strict s ? s.getData().utf8String() : r.status().reason();
    if (text.isBlank()) text = r.status().reason();
    return ApiError.response(r.status(), ApiError.code(r.status()), text).addHeaders(r.getHeaders());
  }

  public static ExceptionHandler exceptionHandler() {
    return EXCEPTIONS;
  }

  /** The response for a failure of route logic (unwrapping CompletionException and friends). */
  public static HttpResponse toResponse(Throwable t) {
    Throwable c = unwrap(t);
    if (c instanceof ApiException a) return ApiError.response(a.status(), a.error(), a.getMessage()).addHeaders(a.headers());
    if (c instanceof EntityStreamSizeException s) {
      return ApiError.response(StatusCodes.PAYLOAD_TOO_LARGE, "payload_too_large",
          "the request body exceeds the limit of " + s.limit() + " bytes");
    }
    if (c instanceof IllegalRequestException i) {
      return ApiError.response(i.status(), ApiError.code(i.status()), i.info().summary());
    }
    if (c instanceof EntityStreamException || c instanceof ParsingException || c instanceof IllegalHeaderException) {
      // the client's body was cut short or is not what its headers say (a multipart body that is
      // not multipart, a form field over its limit, a part without a name or with a broken
      // Content-Disposition): the client's mistake, not the server's
      String summary = ((ExceptionWithErrorInfo) c).info().summary();
      log.info("request body refused: {}", summary);
      return ApiError.response(StatusCodes.BAD_REQUEST, "bad_request", "the request body could not be read: " + summary);
    }
    if (c instanceof TimeoutException) {
      log.warn("request timed out inside the cluster: {}", c.toString());
      return ApiError.response(StatusCodes.SERVICE_UNAVAILABLE, "unavailable",
          "the service did not answer in time, try again").addHeader(RetryAfter.create(1L));
    }
    if (c.getClass().getName().endsWith(".ServerTerminationDeadlineReached")) { // Pekko's internal type
      // the node stopped before this request (an upload, most likely) was done: its client has the
      // server's 503 already, and the request's stream reports the end here too; not a bug of the route
      log.info("request cut off, the node stopped before it was done");
      return ApiError.response(StatusCodes.SERVICE_UNAVAILABLE, "shutting_down", "the server is shutting down; retry")
          .addHeader(RetryAfter.create(1L));
    }
    if (c instanceof RejectedExecutionException) {
      // a dispatcher refused the work: the node is stopping (coordinated shutdown); another node can answer
      log.info("request refused, the node is stopping: {}", c.toString());
      return ApiError.response(StatusCodes.SERVICE_UNAVAILABLE, "unavailable",
          "this node is stopping, try again").addHeader(RetryAfter.create(1L));
    }
    if (databaseUnreachable(c)) {
      // PostgreSQL down or restarting: a transient state /healthz already reports (503), not a bug
      // of the route; one line per request, not an ERROR with a stack trace
      log.warn("database unreachable in a route: {}", c.toString());
      return ApiError.response(StatusCodes.SERVICE_UNAVAILABLE, "database_unavailable",
          "the database is not reachable, try again").addHeader(RetryAfter.create(5L));
    }
    if (storageFull(t)) {
      // an operator's problem to fix, and the client's to retry later: say so, without a stack trace
      log.error("storage full: {}", c.toString());
      return ApiError.response(StatusCodes.INSUFFICIENT_STORAGE, "insufficient_storage",
          "the server has no space left to store this; try again later");
    }
    if (storageNotWritable(t)) {
      log.error("storage not writable: {}", c.toString());
      return ApiError.response(StatusCodes.SERVICE_UNAVAILABLE, "storage_unavailable",
          "the server cannot store files right now; try again later");
    }
    log.error("unhandled error in a route", c);
    return ApiError.response(StatusCodes.INTERNAL_SERVER_ERROR, "internal_error",
        "an unexpected error occurred (" + c.getClass().getSimpleName() + ")");
  }

  /**
   * Whether {@code t} or a cause is a failure to reach the database at all: no connection from the
   * pool in time, a refused or broken connection (SQLState class 08), or the server shutting down
   * (57P01-57P03).
   */
  static boolean databaseUnreachable(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof SQLTransientConnectionException || c instanceof SQLNonTransientConnectionException
          || c instanceof SQLRecoverableException) return true;
      if (c instanceof SQLException e && e.getSQLState() != null
          && (e.getSQLState().startsWith("08") || e.getSQLState().matches("57P0[123]"))) return true;
    }
    return false;
  }

  /**
   * Whether {@code t} or a cause says the disk is full: the operating system's ENOSPC or EDQUOT text
   * (file blob store, H2), or PostgreSQL's disk_full (53100).
   */
  static boolean storageFull(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof SQLException e && "53100".equals(e.getSQLState())) return true;
      String m = c.getMessage();
      if (m != null && (m.contains("No space left on device") || m.contains("Disk quota exceeded"))) return true;
    }
    return false;
  }

  /** Whether {@code t} or a cause is the file system refusing a write: read-only, or permission denied. */
  static boolean storageNotWritable(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof AccessDeniedException) return true;
      if (c instanceof FileSystemException f && f.getReason() != null
          && f.getReason().contains("Read-only file system")) return true;
    }
    return false;
  }

  /** The first cause that is not a wrapper (CompletionException, ExecutionException, IO wrappers). */
  public static Throwable unwrap(Throwable t) {
    Throwable c = t;
    for (int i = 0; i < 10 && c != null; i++) {
      if (c instanceof ApiException || c instanceof EntityStreamSizeException || c instanceof IllegalRequestException) return c;
      Throwable next = c.getCause();
      boolean wrapper = c instanceof CompletionException || c instanceof ExecutionException
          || c instanceof UncheckedIOException || c instanceof IOException
          || c instanceof UndeclaredThrowableException;
      if (next == null || next == c) break;
      if (!wrapper && findSizeOrApi(next) == null) break;
      c = next;
    }
    return c;
  }

  private static Throwable findSizeOrApi(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof ApiException || c instanceof EntityStreamSizeException) return c;
    }
    return null;
  }
}
