package dev.parley.http.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.junit.jupiter.api.Test;

/**
 * With PostgreSQL stopped, every route that reads the database (GET /cluster, /meetings, ...) answered
 * 500 internal_error and logged ERROR "unhandled error in a route" with a full stack trace per request,
 * while /healthz said 503: an outage looked like a bug to clients, load balancers and whoever reads the
 * log. It is 503 database_unavailable now; anything else unexpected stays 500.
 */
class ApiErrorsTest {
  static String body(HttpResponse r) {
    return ((HttpEntity.Strict) r.entity()).getData().utf8String();
  }

  @Test
  void anUnreachableDatabaseIs503() {
    // what Hikari throws when PostgreSQL refuses connections, as a route's future fails with it
    SQLException refused = new SQLException("Connection to 127.0.0.1:5432 refused", "08001");
    HttpResponse r = ApiErrors.toResponse(new CompletionException(
        new SQLTransientConnectionException("parley-db - Connection is not available, request timed out after 5000ms.",
            "08001", refused)));
    assertEquals(503, r.status().intValue());
    assertTrue(body(r).contains("\"database_unavailable\""), body(r));
    assertEquals("5", r.getHeader("Retry-After").orElseThrow().value(), "a client knows when to try again");

    // a connection the server closed while shutting down (PostgreSQL's 57P01)
    HttpResponse shutdown = ApiErrors.toResponse(new SQLException("terminating connection due to administrator command", "57P01"));
    assertEquals(503, shutdown.status().intValue());
  }

  @Test
  void aFullDiskIs507() {
    // the file blob store's write, as the upload's future fails with it
    HttpResponse file = ApiErrors.toResponse(new CompletionException(new IOException("No space left on device")));
    assertEquals(507, file.status().intValue());
    assertTrue(body(file).contains("\"insufficient_storage\""), body(file));
    // PostgreSQL's disk_full, under the driver's wrapping
    HttpResponse pg = ApiErrors.toResponse(new UncheckedIOException(
        new IOException("writing a blob failed", new SQLException("could not extend file", "53100"))));
    assertEquals(507, pg.status().intValue());
  }

  @Test
  void aBlobDirectoryThatRefusesWritesIs503() {
    // what FileBlobStore.put meets on a read-only mount (a failing disk remounted read-only)
    HttpResponse ro = ApiErrors.toResponse(new CompletionException(new FileSystemException(
        "/data/blobs/.tmp-1", null, "Read-only file system")));
    assertEquals(503, ro.status().intValue());
    assertTrue(body(ro).contains("\"storage_unavailable\""), body(ro));
    assertEquals(503, ApiErrors.toResponse(new AccessDeniedException("/data/blobs/.tmp-2")).status().intValue());
  }

  @Test
  void aNodeThatIsStoppingIs503() {
    // a dispatcher shut down by coordinated shutdown refuses the route's work
    HttpResponse r = ApiErrors.toResponse(new CompletionException(
        new RejectedExecutionException("Task rejected: the dispatcher is shut down")));
    assertEquals(503, r.status().intValue());
    assertTrue(body(r).contains("\"unavailable\""), body(r));
    assertEquals("1", r.getHeader("Retry-After").orElseThrow().value());
    // QA: an upload cut off by the node's stop was logged as an unhandled error with a stack trace
    HttpResponse cut = ApiErrors.toResponse(new CompletionException(
        new org.apache.pekko.http.impl.engine.server.ServerTerminationDeadlineReached()));
    assertEquals(503, cut.status().intValue());
    assertTrue(body(cut).contains("\"shutting_down\""), body(cut));
    assertEquals("1", cut.getHeader("Retry-After").orElseThrow().value());
  }

  @Test
  void otherFailuresStay500() {
    assertEquals(500, ApiErrors.toResponse(new CompletionException(new IllegalStateException("bug"))).status().intValue());
    // a constraint violation is the database answering, not being away
    assertEquals(500, ApiErrors.toResponse(new SQLException("duplicate key", "23505")).status().intValue());
  }
}
