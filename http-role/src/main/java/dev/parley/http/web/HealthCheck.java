package dev.parley.http.web;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.path;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.concurrent.ExecutionContextExecutor;

/**
 * {@code GET /healthz}: 200 while the background probe found the node serving recently (the
 * database answered, and the node is an Up member of the cluster), 503 with the reason otherwise.
 * The probe runs every {@code health-check-interval} on the blocking dispatcher, so the endpoint
 * itself never waits for the database.
 */
public final class HealthCheck {
  private static final Logger log = LoggerFactory.getLogger(HealthCheck.class);
  /** The body of a healthy node, on every role: {@code {"status":"up"}}. */
  public static final HttpResponse UP = HttpResponse.create()
      .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, "{\"status\":\"up\"}"));

  private record Probe(long atNanos, String error) {}

  private final DataSource ds;
  private final Supplier<String> notServing;
  private final Duration interval;
  private final CoordinatedShutdown shutdown;
  private final AtomicReference<Probe> last = new AtomicReference<>(new Probe(System.nanoTime() - Long.MAX_VALUE / 4, "not probed yet"));
  private final Cancellable task;

  /**
   * @param notServing why the node cannot serve the API apart from the database (for example not
   *     yet, or no longer, an Up cluster member), or null when it can; asked with every probe
   */
  public HealthCheck(ActorSystem<?> system, DataSource ds, Duration interval,
      ExecutionContextExecutor blocking, Supplier<String> notServing) {
    this.ds = ds;
    this.notServing = notServing;
    this.interval = interval;
    this.shutdown = CoordinatedShutdown.get(system);
    probe(); // on the caller (the role's start): the first /healthz answers from a real probe, not "not probed yet"
    this.task = system.classicSystem().scheduler().scheduleWithFixedDelay(interval, interval, this::probe, blocking);
  }

  private void probe() {
    String why;
    String detail = null; // for the log only: /healthz answers anyone, and a driver's message may name hosts and users
    try (Connection c = ds.getConnection()) {
      // a query, not Connection.isValid: H2 answers isValid with true after it has closed the
      // database itself (a full disk), while every statement fails
      try (Statement s = c.createStatement()) {
        s.setQueryTimeout(2);
        s.execute("SELECT 1");
      }
      why = notServing.get();
    } catch (Exception e) {
      why = "database unreachable";
      detail = e.getMessage();
    }
    Probe before = last.getAndSet(new Probe(System.nanoTime(), why));
    String logged = detail == null ? why : why + ": " + detail;
    if (why != null && before.error() == null) {
      // a node told to stop stops serving on purpose
      if (shutdown.getShutdownReason().isPresent()) log.info("not serving: {} (shutting down)", logged);
      else log.warn("not serving: {}", logged);
    }
    if (why != null && "not probed yet".equals(before.error())) log.info("not serving yet: {}", logged); // start-up
    if (why == null && before.error() != null && !"not probed yet".equals(before.error())) log.info("serving again");
  }

  /** Up when the last probe succeeded and is at most three intervals old. */
  public boolean healthy() {
    Probe p = last.get();
    return p.error() == null && System.nanoTime() - p.atNanos() <= 3 * interval.toNanos();
  }

  /** Why the node does not serve, as {@code /healthz} tells anyone who asks, or null when it serves. */
  String reason() {
    if (healthy()) return null;
    Probe p = last.get();
    return p.error() != null ? p.error() : "the health probe is stale";
  }

  public Route routes() {
    return path("healthz", () -> get(() -> {
      String why = reason();
      return why == null ? complete(UP) : complete(ApiError.response(StatusCodes.SERVICE_UNAVAILABLE, "unavailable", why));
    }));
  }

  public void stop() {
    task.cancel();
  }
}
