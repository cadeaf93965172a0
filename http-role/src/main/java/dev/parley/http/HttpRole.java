package dev.parley.http;

import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.handleExceptions;
import static org.apache.pekko.http.javadsl.server.Directives.handleRejections;
import static org.apache.pekko.http.javadsl.server.Directives.respondWithDefaultHeaders;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.parley.http.auth.AudioUrls;
import dev.parley.http.auth.AuthRoutes;
import dev.parley.http.auth.JwtSecrets;
import dev.parley.http.auth.PasswordHasher;
import dev.parley.http.auth.TokenGenerations;
import dev.parley.http.auth.TokenService;
import dev.parley.http.auth.UserRepository;
import dev.parley.http.blob.OrphanedBlobs;
import dev.parley.http.cluster.ClusterRoutes;
import dev.parley.http.cluster.GpuReaper;
import dev.parley.http.cluster.QueueReporter;
import dev.parley.http.db.DbSettings;
import dev.parley.http.meeting.Meeting;
import dev.parley.http.meeting.MeetingRoutes;
import dev.parley.http.meeting.MeetingService;
import dev.parley.http.meeting.MeetingSettings;
import dev.parley.http.meeting.list.DeletedMeetings;
import dev.parley.http.meeting.list.MeetingListProjection;
import dev.parley.http.meeting.list.MeetingListRepository;
import dev.parley.http.web.ApiError;
import dev.parley.http.web.ApiErrors;
import dev.parley.http.web.Cors;
import dev.parley.http.web.HealthCheck;
import dev.parley.http.web.JsonParsingErrorHandler;
import dev.parley.protocol.blob.BlobStore;
import dev.parley.protocol.cluster.Members;
import dev.parley.protocol.worker.InferenceProtocol;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.HashCodeMessageExtractor;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.ClusterSingletonSettings;
import org.apache.pekko.cluster.typed.SingletonActor;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.concurrent.ExecutionContextExecutor;

/**
 * The http role of a node: Meeting sharding (role http, remembered entities), the gpu worker proxy,
 * the meeting-list projection (a cluster singleton on role http) and the REST API.
 */
public final class HttpRole {
  private static final Logger log = LoggerFactory.getLogger(HttpRole.class);

  /** A started http role: the port the API is bound to, and a way to unbind it. */
  public interface Handle {
    int port();

    /** Unbinds the API (waits up to the given time for requests in flight). */
    void stop(Duration timeout);
  }

  private HttpRole() {}

  /** A clean-up pass of an http node: runs on the blocking dispatcher, may throw (the pass is logged and skipped). */
  @FunctionalInterface
  interface Sweep {
    void run() throws Exception;
  }

  /**
   * Runs {@code sweep} ten minutes after start and then every hour on {@code blocking}; a pass that
   * fails is logged as "{@code what} failed" and the next one runs as planned. Every http node
   * sweeps: the sweeps are idempotent.
   */
  private static void everyHour(ActorSystem<?> system, String what, Sweep sweep, ExecutionContextExecutor blocking) {
    system.classicSystem().scheduler().scheduleWithFixedDelay(Duration.ofMinutes(10), Duration.ofHours(1), () -> {
      try {
        sweep.run();
      } catch (Exception e) {
        log.warn("{} failed: {}", what, e.toString());
      }
    }, blocking);
  }

  /**
   * Starts the http role on {@code system} (which must have the {@code http} cluster role) and blocks
   * until the API is bound. The schema must already be migrated ({@link dev.parley.http.db.Schema}).
   * On a node that also has the gpu role, the gpu worker sharding must be initialised before this.
   */
  public static Handle start(ActorSystem<?> system, BlobStore blobs, DataSource ds, DbSettings db) {
    Config parley = system.settings().config().getConfig("parley");
    HttpSettings settings = HttpSettings.fromConfig(parley);
    ExecutionContextExecutor blocking =
        system.dispatchers().lookup(DispatcherSelector.fromConfig(HttpSettings.BLOCKING_DISPATCHER));

    MeetingSettings meetingSettings = MeetingSettings.fromConfig(parley);
    startSharding(system, meetingSettings, blobs);
    MeetingListRepository list = new MeetingListRepository(ds, db);
    system.systemActorOf(GpuReaper.create(settings.gpuDownUnreachableAfter()), "parley-gpu-reaper",
        Props.empty());
    system.systemActorOf(QueueReporter.create(list, blocking), InferenceProtocol.QUEUE_REPORTER,
        Props.empty());
    startReadSide(system, list, MeetingListProjection.Settings.fromConfig(parley));

    Api api = buildRoutes(system, settings, ds, blobs, list, blocking);
    HealthCheck health = api.health();
    ServerBinding binding = bind(system, settings, api.routes(), health);
    OrphanedBlobs.Meetings meetings = OrphanedBlobs.meetings(system, list,
        PersistenceQuery.get(system).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier()));
    everyHour(system, "the sweep for orphaned audio", () -> OrphanedBlobs.sweep(blobs, meetings), blocking);
    Duration eraseAfter = meetingSettings.eraseDeletedAfter();
    if (eraseAfter != null) everyHour(system, "erasing deleted meetings", () -> DeletedMeetings.sweep(ds, eraseAfter), blocking);
    int port = binding.localAddress().getPort();
    log.info("http role up: API on {}:{}, database {}, blobs {}", settings.bindHost(), port, db.safeUrl(),
        blobs.getClass().getSimpleName());
    return new Handle() {
      @Override
      public int port() {
        return port;
      }

      @Override
      public void stop(Duration timeout) {
        health.stop();
        try {
          binding.terminate(timeout).toCompletableFuture().get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
          log.warn("HTTP API did not stop cleanly: {}", e.toString());
        }
      }
    };
  }

  /** The gpu pool (on an http-only node the proxy to the gpu nodes' regions) and the Meeting entities. */
  private static void startSharding(ActorSystem<?> system, MeetingSettings meetingSettings, BlobStore blobs) {
    ClusterSharding sharding = ClusterSharding.get(system);
    if (!Cluster.get(system).selfMember().hasRole(InferenceProtocol.GPU_ROLE)) {
      sharding.init(Entity.of(InferenceProtocol.WORKER, ctx -> Behaviors.<InferenceProtocol.WorkerCommand>stopped())
          .withRole(InferenceProtocol.GPU_ROLE));
    }
    Meeting.WorkerGateway workers = gpuPool(system, sharding);
    sharding.init(Entity.of(Meeting.ENTITY_KEY,
            ctx -> Meeting.create(ctx.getEntityId(), meetingSettings, workers, blobs, ctx.getShard()))
        .withRole(InferenceProtocol.HTTP_ROLE)
        .withStopMessage(Meeting.Stop.INSTANCE)
        // few shards: http nodes are few, and every new shard costs remembered-shard writes
        .withMessageExtractor(new HashCodeMessageExtractor<Meeting.Command>(meetingSettings.numberOfShards()))
        .withSettings(ClusterShardingSettings.create(system).withRememberEntities(true)));
  }

  /** The meeting-list projection, a cluster singleton on the http role. */
  private static void startReadSide(ActorSystem<?> system, MeetingListRepository list,
      MeetingListProjection.Settings projection) {
    ClusterSingleton.get(system).init(
        SingletonActor.of(
                Behaviors.supervise(MeetingListProjection.create(list, projection))
                    .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2)),
                MeetingListProjection.NAME)
            .withStopMessage(MeetingListProjection.Stop.INSTANCE)
            .withSettings(ClusterSingletonSettings.create(system).withRole(InferenceProtocol.HTTP_ROLE)));
  }

  /** The API's routes and the health check behind {@code /healthz} (its probe runs from now on). */
  private record Api(Route routes, HealthCheck health) {}

  private static Api buildRoutes(ActorSystem<?> system, HttpSettings settings, DataSource ds, BlobStore blobs,
      MeetingListRepository list, ExecutionContextExecutor blocking) {
    JdbcReadJournal journal = PersistenceQuery.get(system).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    String secret = JwtSecrets.resolve(settings.jwtSecret(), settings.dataDir());
    TokenService tokens = new TokenService(secret, settings.tokenTtl());
    UserRepository users = new UserRepository(ds);
    // the revocation check's rare reads run with the other short JDBC work, never behind bcrypt
    TokenGenerations generations = new TokenGenerations(users, settings.revocationCacheTtl(), blocking);
    AuthRoutes auth = new AuthRoutes(users, new PasswordHasher(settings.bcryptCost()), tokens, generations,
        system.dispatchers().lookup(DispatcherSelector.fromConfig(HttpSettings.AUTH_DISPATCHER)),
        settings.maxJsonBody(), settings.loginMaxFailures(), settings.loginFailureWindow());
    MeetingService meetings = new MeetingService(system, blobs, list, journal, settings, blocking);
    Cluster cluster = Cluster.get(system);
    HealthCheck health = new HealthCheck(system, ds, settings.healthCheckInterval(),
        system.dispatchers().lookup(DispatcherSelector.fromConfig(HttpSettings.HEALTH_DISPATCHER)), () -> {
      MemberStatus s = cluster.selfMember().status();
      if (s == MemberStatus.up() || s == MemberStatus.weaklyUp()) {
        return blobs.unwritable();
      }
      // a node's own status reads Removed before its first join as after its last
      return s == MemberStatus.removed() && !system.getWhenTerminated().toCompletableFuture().isDone()
          && CoordinatedShutdown.get(system).getShutdownReason().isEmpty()
          ? "this node has not joined its cluster yet" : "this node is not an Up cluster member (" + s + ")";
    });
    Route routes = routes(settings.corsOrigins(), health, auth,
        new MeetingRoutes(meetings, auth, new AudioUrls(secret, settings.audioUrlTtl()), blocking),
        new ClusterRoutes(system, list, blocking, settings.gpuScale()));
    return new Api(routes, health);
  }

  /** Binds the API and blocks until it is bound; stops {@code health} when it cannot. */
  private static ServerBinding bind(ActorSystem<?> system, HttpSettings settings, Route routes, HealthCheck health) {
    Config serverConfig = ConfigFactory.parseMap(Map.of(
            "pekko.http.server.parsing.max-content-length", settings.maxUpload(),
            "pekko.http.server.parsing.error-handler", JsonParsingErrorHandler.class.getName()))
        .withFallback(system.settings().config());
    ServerBinding binding;
    try {
      binding = Http.get(system).newServerAt(settings.bindHost(), settings.port())
          .withSettings(ServerSettings.create(serverConfig).withTerminationDeadlineExceededResponse(
              // requests still open when a stopping node's grace period ends get the one error shape too
              ApiError.response(StatusCodes.SERVICE_UNAVAILABLE, "shutting_down", "the server is shutting down; retry")
                  .addHeader(RetryAfter.create(1L))))
          .bind(routes)
          .toCompletableFuture()
          .get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      health.stop();
      throw new IllegalStateException("cannot bind the HTTP API on " + settings.bindHost() + ":" + settings.port()
          + " (PARLEY_HTTP_PORT; each node on one host needs its own)", e);
    }
    binding.addToCoordinatedShutdown(Duration.ofSeconds(5), system);
    return binding;
  }

  /**
   * Sends RunJob to the worker entity of its attempt. While no gpu node is up, the send is skipped
   * (the Meeting re-sends every resend-interval anyway), so the sharding proxy does not pile up
   * copies of every queued job while the gpu pool is scaled to zero. A worker's node counts as
   * lost while the cluster's failure detector says it is unreachable, once it is leaving (it stops
   * its jobs on the way out), and once it is no member at all (it left, or was downed and removed).
   * A worker's node was a member before it could host the worker (a node is Up only when every
   * member has seen it join), so absence means it has gone.
   */
  static Meeting.WorkerGateway gpuPool(ActorSystem<?> system, ClusterSharding sharding) {
    org.apache.pekko.cluster.Cluster cluster = org.apache.pekko.cluster.Cluster.get(system);
    return new Meeting.WorkerGateway() {
      @Override
      public void send(InferenceProtocol.RunJob job) {
        if (gpuUp()) sharding.entityRefFor(InferenceProtocol.WORKER, job.attemptId()).tell(job);
      }

      @Override
      public void cancel(InferenceProtocol.CancelJob cancel) {
        if (gpuUp()) sharding.entityRefFor(InferenceProtocol.WORKER, cancel.attemptId()).tell(cancel);
      }

      private boolean gpuUp() {
        for (Member m : cluster.state().getMembers()) {
          if (m.hasRole(InferenceProtocol.GPU_ROLE) && m.status() == MemberStatus.up()) {
            return true;
          }
        }
        return false;
      }

      @Override
      public boolean lost(String node) {
        // a node that just became Up may still look Joining or WeaklyUp here (gossip lags the
        // coordinator that sent it the job): only the statuses of a node on its way out count
        return Members.findReachable(cluster.state(), node).filter(m -> !LEAVING.contains(m.status())).isEmpty();
      }
    };
  }

  /** The member statuses of a node on its way out of the cluster. */
  private static final Set<MemberStatus> LEAVING =
      Set.of(MemberStatus.leaving(), MemberStatus.exiting(), MemberStatus.down(), MemberStatus.removed());

  static Route routes(List<String> corsOrigins, HealthCheck health, AuthRoutes auth, MeetingRoutes meetings,
      ClusterRoutes cluster) {
    Route all = concat(health.routes(), auth.routes(), meetings.routes(), cluster.routes());
    // built here, once: what a directive's supplier builds, it builds again for every request
    Route rejections = handleRejections(ApiErrors.rejectionHandler(), () -> all);
    Route errors = handleExceptions(ApiErrors.exceptionHandler(), () -> rejections);
    // outside the error handling, so that errors and rejections carry the CORS headers too
    Route cors = Cors.wrap(corsOrigins, errors);
    // no response is ever to be read as another type than it says (an uploaded file above all)
    return respondWithDefaultHeaders(List.of(RawHeader.create("X-Content-Type-Options", "nosniff")), () -> cors);
  }
}
