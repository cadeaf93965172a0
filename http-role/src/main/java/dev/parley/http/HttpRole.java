package dev.parley.http;

import dev.parley.http.db.DbSettings;
import dev.parley.protocol.blob.BlobStore;
import java.time.Duration;
import javax.sql.DataSource;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * The http role of a node: Meeting sharding (role http), the gpu worker proxy, the meeting-list
 * projection (a cluster singleton on role http) and the REST API.
 */
public final class HttpRole {

  /** A started http role: the port the API is bound to, and a way to unbind it. */
  public interface Handle {
    int port();

    /** Unbinds the API (waits up to the given time for requests in flight). */
    void stop(Duration timeout);

    default void stop() {
      stop(Duration.ofSeconds(5));
    }
  }

  private HttpRole() {}

  /**
   * Starts the http role on {@code system} (which must have the {@code http} cluster role) and blocks
   * until the API is bound. The schema must already be migrated ({@link dev.parley.http.db.Schema}).
   */
  public static Handle start(ActorSystem<?> system, BlobStore blobs, DataSource ds, DbSettings db) {
    throw new UnsupportedOperationException("http role not implemented yet");
  }
}
