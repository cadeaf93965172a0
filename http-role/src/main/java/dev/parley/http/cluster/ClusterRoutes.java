package dev.parley.http.cluster;

import static org.apache.pekko.http.javadsl.server.Directives.completeOKWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.path;

import dev.parley.http.meeting.list.MeetingListRepository;
import dev.parley.http.web.Json;
import dev.parley.protocol.worker.InferenceProtocol;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.server.Route;

/** {@code GET /cluster}: members with roles and status, gpu nodes up, queued and running jobs. */
public final class ClusterRoutes {

  public record MemberView(String address, Set<String> roles, String status, boolean reachable, boolean self) {}

  public record Jobs(long queued, long running) {}

  public record ClusterView(String self, String leader, List<MemberView> members, int httpNodes, int gpuNodes, Jobs jobs) {}

  private final ActorSystem<?> system;
  private final MeetingListRepository list;
  private final Executor blocking;

  public ClusterRoutes(ActorSystem<?> system, MeetingListRepository list, Executor blocking) {
    this.system = system;
    this.list = list;
    this.blocking = blocking;
  }

  public Route routes() {
    return path("cluster", () -> get(() -> completeOKWithFuture(view(), Json.marshaller())));
  }

  CompletionStage<ClusterView> view() {
    return CompletableFuture.supplyAsync(() -> {
      Map<String, Long> counts;
      try {
        counts = list.activeCounts();
      } catch (java.sql.SQLException e) {
        throw new CompletionException(e);
      }
      Cluster cluster = Cluster.get(system);
      ClusterEvent.CurrentClusterState state = cluster.state();
      Set<Member> unreachable = state.getUnreachable();
      List<MemberView> members = new ArrayList<>();
      int http = 0;
      int gpu = 0;
      for (Member m : state.getMembers()) {
        Set<String> roles = new TreeSet<>();
        for (String r : m.getRoles()) if (!r.startsWith("dc-")) roles.add(r);
        boolean reachable = !unreachable.contains(m);
        boolean up = m.status() == MemberStatus.up();
        if (up && reachable && roles.contains(InferenceProtocol.HTTP_ROLE)) http++;
        if (up && reachable && roles.contains(InferenceProtocol.GPU_ROLE)) gpu++;
        members.add(new MemberView(m.address().toString(), roles, m.status().toString().toLowerCase(java.util.Locale.ROOT),
            reachable, m.equals(cluster.selfMember())));
      }
      String leader = state.getLeader() == null ? null : state.getLeader().toString();
      return new ClusterView(cluster.selfMember().address().toString(), leader, members, http, gpu,
          new Jobs(counts.getOrDefault("queued", 0L), counts.getOrDefault("processing", 0L)));
    }, blocking);
  }
}
