package dev.parley.node;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.handleExceptions;
import static org.apache.pekko.http.javadsl.server.Directives.handleRejections;
import static org.apache.pekko.http.javadsl.server.Directives.path;

import dev.parley.http.web.ApiError;
import dev.parley.http.web.ApiErrors;
import dev.parley.http.web.HealthCheck;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /healthz} on a gpu-only node (which serves no API): 200 with the http node's body
 * ({@code {"status":"up"}}) while the node is trying to join, joining or up, 503 {@code
 * unavailable} in the API's error shape once it is leaving or removed, so a platform's probe sees
 * an idle leave as the end it is; every other path is a JSON 404 in the API's error shape. Bound on
 * {@code parley.http.port}; unbound in coordinated shutdown.
 */
final class GpuHealth {
  private static final Logger log = LoggerFactory.getLogger(GpuHealth.class);

  private GpuHealth() {}

  static void bind(ActorSystem<?> system, String bindHost, int port) {
    Cluster cluster = Cluster.get(system);
    org.apache.pekko.cluster.Cluster classic = org.apache.pekko.cluster.Cluster.get(system.classicSystem());
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    Route health = path("healthz", () -> get(() -> {
      MemberStatus status = cluster.selfMember().status();
      // before its first join a node's own member says Removed: it is still trying to join its seeds
      boolean notJoinedYet = status == MemberStatus.removed() && !classic.isTerminated()
          && shutdown.getShutdownReason().isEmpty();
      boolean ok = status == MemberStatus.up() || status == MemberStatus.joining() || status == MemberStatus.weaklyUp()
          || notJoinedYet;
      if (ok) return complete(HealthCheck.UP);
      return complete(ApiError.response(StatusCodes.SERVICE_UNAVAILABLE, "unavailable",
          "the gpu node is " + status.toString().toLowerCase(Locale.ROOT) + ", not a serving cluster member"));
    }));
    // any other path gets the API's error shape: {"error":"not_found","message":...}
    Route route = handleExceptions(ApiErrors.exceptionHandler(),
        () -> handleRejections(ApiErrors.rejectionHandler(), () -> health));
    // a node whose probe cannot bind does not start (exit 1), as an http node does: on a port another
    // process holds, the platform's probe would ask that process instead
    ServerBinding binding;
    try {
      binding = Http.get(system).newServerAt(bindHost, port).bind(route).toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("cannot bind the gpu node's health endpoint on " + bindHost + ":" + port
          + " (PARLEY_HTTP_PORT; each node on one host needs its own)", e);
    }
    binding.addToCoordinatedShutdown(Duration.ofSeconds(2), system);
    log.info("gpu node health endpoint on {}:{}/healthz", bindHost, binding.localAddress().getPort());
  }
}
