package dev.parley.node;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.path;

import java.time.Duration;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /healthz} on a gpu-only node (which serves no API): 200 while the node is a cluster
 * member that is joining or up, 503 once it is leaving or removed, so a platform's probe sees an
 * idle leave as the end it is. Bound on {@code parley.http.port}; unbound in coordinated shutdown.
 */
final class GpuHealth {
  private static final Logger log = LoggerFactory.getLogger(GpuHealth.class);

  private GpuHealth() {}

  static void bind(ActorSystem<?> system, String bindHost, int port) {
    Cluster cluster = Cluster.get(system);
    Route route = path("healthz", () -> get(() -> {
      MemberStatus status = cluster.selfMember().status();
      boolean ok = status == MemberStatus.up() || status == MemberStatus.joining() || status == MemberStatus.weaklyUp();
      String json = "{\"status\":\"" + (ok ? "ok" : "unavailable") + "\",\"roles\":[\"gpu\"],\"member\":\""
          + status.toString().toLowerCase(java.util.Locale.ROOT) + "\"}";
      return complete(HttpResponse.create()
          .withStatus(ok ? StatusCodes.OK : StatusCodes.SERVICE_UNAVAILABLE)
          .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, json)));
    }));
    Http.get(system).newServerAt(bindHost, port).bind(route).whenComplete((binding, error) -> {
      if (error != null) {
        // a gpu node without its probe still does its work: say so loudly, don't stop it
        log.warn("gpu node health endpoint not bound on {}:{}: {}", bindHost, port, error.getMessage());
      } else {
        binding.addToCoordinatedShutdown(Duration.ofSeconds(2), system);
        log.info("gpu node health endpoint on {}:{}/healthz", bindHost, binding.localAddress().getPort());
      }
    });
  }
}
