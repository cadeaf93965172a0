package dev.parley.http.cluster;

import static org.apache.pekko.http.javadsl.server.Directives.completeOKWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.path;

import dev.parley.http.meeting.list.MeetingListRepository;
import dev.parley.http.web.Blocking;
import dev.parley.http.web.Json;
import dev.parley.protocol.worker.InferenceProtocol;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code GET /cluster}: members with roles and status, gpu nodes up, queued and running jobs.
 * {@code GET /autoscale}: the same job counts as a scale signal, the number of gpu nodes the work
 * asks for, for whatever starts gpu processes (a cron job, a KEDA or Nomad scaler, a script).
 */
public final class ClusterRoutes {

  /**
   * @param jobsPerGpuNode jobs one gpu node runs at once ({@code parley.gpu.concurrency})
   * @param maxGpuNodes the most gpu nodes the signal asks for ({@code parley.gpu.max-nodes})
   */
  public record ScaleSettings(int jobsPerGpuNode, int maxGpuNodes) {
    public ScaleSettings {
      if (jobsPerGpuNode < 1) throw new IllegalArgumentException("parley.gpu.concurrency must be at least 1");
      if (maxGpuNodes < 1) throw new IllegalArgumentException("parley.gpu.max-nodes must be at least 1");
    }

    /** Enough gpu nodes for every queued and running job, at most {@code maxGpuNodes}; 0 when there is no work. */
    public int desiredGpuNodes(long queued, long running) {
      long jobs = Math.max(0, queued) + Math.max(0, running);
      return (int) Math.min(maxGpuNodes, (jobs + jobsPerGpuNode - 1) / jobsPerGpuNode);
    }
  }

  /** What {@code GET /autoscale} answers. */
  public record ScaleSignal(long queued, long running, int gpuNodes, int desiredGpuNodes, int maxGpuNodes,
      int jobsPerGpuNode) {}

  /** {@code version}: the member's release ({@code pekko.cluster.app-version}), which differs during a rolling upgrade. */
  public record MemberView(String address, Set<String> roles, String status, String version, boolean reachable,
      boolean self) {}

  public record Jobs(long queued, long running) {}

  public record ClusterView(String self, String leader, List<MemberView> members, int httpNodes, int gpuNodes, Jobs jobs) {}

  private final ActorSystem<?> system;
  private final MeetingListRepository list;
  private final Executor blocking;
  private final ScaleSettings scale;

  public ClusterRoutes(ActorSystem<?> system, MeetingListRepository list, Executor blocking, ScaleSettings scale) {
    this.system = system;
    this.list = list;
    this.blocking = blocking;
    this.scale = scale;
  }

  public Route routes() {
    return concat(
        path("cluster", () -> get(() -> completeOKWithFuture(view(), Json.marshaller()))),
        path("autoscale", () -> get(() -> completeOKWithFuture(view().thenApply(v -> new ScaleSignal(v.jobs().queued(),
            v.jobs().running(), v.gpuNodes(), scale.desiredGpuNodes(v.jobs().queued(), v.jobs().running()),
            scale.maxGpuNodes(), scale.jobsPerGpuNode())), Json.marshaller()))));
  }

  CompletionStage<ClusterView> view() {
    return Blocking.supply(() -> {
      MeetingListRepository.ActiveCounts counts = list.activeCounts();
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
        members.add(new MemberView(m.address().toString(), roles, m.status().toString().toLowerCase(Locale.ROOT),
            m.appVersion().version(), reachable, m.equals(cluster.selfMember())));
      }
      String leader = state.getLeader() == null ? null : state.getLeader().toString();
      return new ClusterView(cluster.selfMember().address().toString(), leader, members, http, gpu,
          new Jobs(counts.queued(), counts.processing()));
    }, blocking);
  }
}
