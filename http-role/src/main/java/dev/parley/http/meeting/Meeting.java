package dev.parley.http.meeting;

import com.fasterxml.jackson.annotation.JsonIgnore;
import dev.parley.http.HttpSettings;
import dev.parley.protocol.CborSerializable;
import dev.parley.protocol.DiarizationOptions;
import dev.parley.protocol.DiarizationResult;
import dev.parley.protocol.JsonSerializable;
import dev.parley.protocol.blob.BlobStore;
import dev.parley.protocol.worker.InferenceProtocol;
import dev.parley.protocol.worker.InferenceProtocol.CancelJob;
import dev.parley.protocol.worker.InferenceProtocol.JobAccepted;
import dev.parley.protocol.worker.InferenceProtocol.JobCompleted;
import dev.parley.protocol.worker.InferenceProtocol.JobFailed;
import dev.parley.protocol.worker.InferenceProtocol.JobProgress;
import dev.parley.protocol.worker.InferenceProtocol.JobUpdate;
import dev.parley.protocol.worker.InferenceProtocol.RunJob;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerBuilder;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * A meeting: the aggregate of the http role, event-sourced, sharded on role {@code http}.
 *
 * <p>It owns the delivery of its diarization job to the gpu pool ({@link
 * dev.parley.protocol.worker.InferenceProtocol}): it sends {@link RunJob} for the current attempt
 * ({@code <meetingId>-<n>}) every {@code resend-interval} until the worker acknowledges it, and on while
 * the worker reports it waiting for a slot (the gpu pool may move a waiting job to a node with a free
 * one, where the next send starts it); once an attempt runs, a silence of {@code heartbeat-timeout} (no progress: the gpu node crashed or left)
 * starts a new attempt, and so does the attempt's node becoming unreachable or leaving the cluster (checked every
 * {@code resend-interval}), so a crashed node's job is re-dispatched before the timeout. While the
 * meeting is not final it accepts exactly one outcome: the first result of any attempt, or a
 * failure of the current attempt only (an older attempt may fail because it was cancelled as
 * superseded), and ignores everything after. A failure the worker marks non-retryable (bad input)
 * ends the meeting; retryable ones are retried up to {@code max-attempts}. Attempts nobody waits
 * for any more (superseded, beaten by another attempt's result, or of a deleted meeting) get a
 * {@link CancelJob}. The entity is remembered by sharding while it has work: after a restart it
 * resumes by itself, re-sending its current attempt (the worker treats a repeat as idempotent).
 */
public final class Meeting extends EventSourcedBehavior<Meeting.Command, Meeting.Event, Meeting.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "Meeting");

  /** Every event carries this tag: the meeting-list projection reads them with eventsByTag. */
  public static final String TAG = "meeting";

  /** Where RunJob goes: the sharded worker pool in production, a probe in tests. */
  @FunctionalInterface
  public interface WorkerGateway {
    void send(RunJob job);

    /**
     * Whether the node a worker reported ({@code host:port} as in JobAccepted) is out of service:
     * unreachable, leaving (a node that leaves stops its jobs before it exits), or gone from the
     * cluster (left, or downed and removed). At most one incarnation of a host:port is a member at
     * a time, so this never mistakes a restarted node for the dead one.
     */
    default boolean lost(String node) {
      return false;
    }

    /** Stops an attempt nobody waits for any more (best effort). */
    default void cancel(CancelJob cancel) {}
  }

  // ---------------------------------------------------------------- commands

  /** Commands of a Meeting; the public ones cross nodes through sharding. */
  public interface Command extends CborSerializable {}

  /**
   * Create the meeting for audio already in the blob store; replies {@link Accepted} with the new
   * state, or {@link Rejected} ({@link Rejection#INVALID}, {@link Rejection#ALREADY_EXISTS},
   * {@link Rejection#EXPIRED}).
   *
   * @param answerBy when the sender stops waiting and tells its client the upload failed (null: it
   *     waits for ever). A Create that reaches the entity later (held up in sharding while the
   *     database was away) is refused, so that a client told "try again" does not also get the
   *     meeting it was told failed. One that arrived in time but whose write outlasts the ask is
   *     kept; the sender then asks again and answers with it ({@code MeetingService.afterUnansweredCreate}).
   *     Only a write slower than two ask timeouts (the journal's circuit breaker gives up at 10 s)
   *     still leaves a client told to retry with a meeting it was not told of.
   */
  public record Create(String owner, String title, DiarizationOptions options, Audio audio, Instant answerBy,
      ActorRef<Reply> replyTo) implements Command {
    public Create(String owner, String title, DiarizationOptions options, Audio audio, ActorRef<Reply> replyTo) {
      this(owner, title, options, audio, null, replyTo);
    }
  }

  /** The current state (an empty state, {@link Status#NEW}, when the meeting does not exist). */
  public record Get(ActorRef<State> replyTo) implements Command {}

  /**
   * Delete the meeting and its audio; replies {@link Accepted} once the audio is gone, {@link
   * Rejected} ({@link Rejection#NOT_FOUND}) when the meeting is absent or already deleted.
   */
  public record Delete(ActorRef<Reply> replyTo) implements Command {}

  /** A worker's message, through the Meeting's message adapter. */
  record WorkerUpdate(JobUpdate update) implements Command {}

  record Resend(String attemptId) implements Command {}

  /** A retry's wait after a worker's failure is over: send the attempt. */
  record RetryDue(String attemptId) implements Command {}

  record HeartbeatTimeout(String attemptId) implements Command {}

  /** Periodic while an attempt runs: is its node still reachable? */
  enum CheckWorkerNode implements Command { INSTANCE }

  record BlobDeleted(ActorRef<Reply> replyTo, String error) implements Command {}

  enum Idle implements Command { INSTANCE }

  /** The stop message sharding sends after passivation. */
  public enum Stop implements Command { INSTANCE }

  // ---------------------------------------------------------------- replies

  /** The answer to {@link Create} and {@link Delete}. */
  public sealed interface Reply extends CborSerializable permits Accepted, Rejected {}

  /** The command was carried out; {@code state} is the meeting after it. */
  public record Accepted(State state) implements Reply {}

  /** The command was refused: {@code kind} decides the API's status, {@code message} is for people. */
  public record Rejected(Rejection kind, String message) implements Reply {}

  /** Why a command was refused. */
  public enum Rejection { NOT_FOUND, ALREADY_EXISTS, INVALID, EXPIRED }

  // ---------------------------------------------------------------- events

  /**
   * Events of a Meeting, persisted as JSON and tagged {@link #TAG}. Sealed, so {@link #eventName}
   * knows every type; each has a {@link EventName}.
   */
  public sealed interface Event extends JsonSerializable {}

  /**
   * An event type's name outside Parley (the history's {@code type}): it stays when the class is
   * renamed. The journal does not use it (its manifest is the class name, see JournalCompatibilityTest).
   */
  @Retention(RetentionPolicy.RUNTIME)
  @Target(ElementType.TYPE)
  public @interface EventName {
    String value();
  }

  private static final Map<Class<?>, String> EVENT_NAMES = eventNames(Event.class.getPermittedSubclasses());

  /** The {@link EventName} of {@code e}'s type. */
  public static String eventName(Event e) {
    return EVENT_NAMES.get(e.getClass());
  }

  /** Every event type's {@link EventName}; refuses a type without one and two types with one name. */
  static Map<Class<?>, String> eventNames(Class<?>[] types) {
    Map<Class<?>, String> names = new LinkedHashMap<>();
    Map<String, Class<?>> taken = new HashMap<>();
    for (Class<?> t : types) {
      EventName n = t.getAnnotation(EventName.class);
      if (n == null || n.value().isBlank()) throw new IllegalStateException("event type " + t.getName() + " has no @Meeting.EventName");
      Class<?> other = taken.putIfAbsent(n.value(), t);
      if (other != null) {
        throw new IllegalStateException("event types " + other.getName() + " and " + t.getName() + " are both named " + n.value());
      }
      names.put(t, n.value());
    }
    return Collections.unmodifiableMap(names);
  }

  @EventName("Created")
  public record Created(String meetingId, String owner, String title, DiarizationOptions options, Instant createdAt)
      implements Event {}

  @EventName("AudioStored")
  public record AudioStored(String key, long size, String sha256, String contentType, String fileName,
      Double durationSeconds) implements Event {}

  /**
   * Attempt {@code attempt} waits for a worker; {@code reason} says why it is a retry (null for the
   * first), and {@code retryAt} when it is sent after a worker's failure (null: at once).
   */
  @EventName("Queued")
  public record Queued(int attempt, String attemptId, String reason, Instant retryAt) implements Event {
    public Queued(int attempt, String attemptId, String reason) {
      this(attempt, attemptId, reason, null);
    }
  }

  /** A worker on {@code node} acknowledged the attempt. */
  @EventName("Dispatched")
  public record Dispatched(int attempt, String attemptId, String node) implements Event {}

  @EventName("Progress")
  public record Progress(int attempt, String attemptId, String stage, double fraction, String node) implements Event {}

  /** The one accepted result: segments, speakers, model versions and timing (gpu seconds, RTF). */
  @EventName("Completed")
  public record Completed(int attempt, String attemptId, String node, DiarizationResult result) implements Event {}

  @EventName("Failed")
  public record Failed(int attempt, String attemptId, String node, String reason, boolean retryable) implements Event {}

  @EventName("Deleted")
  public record Deleted(String audioKey) implements Event {}

  // ---------------------------------------------------------------- state

  public enum Status {
    NEW, QUEUED, PROCESSING, DONE, FAILED, DELETED;

    /** The API's word: queued, processing, done, failed (deleted and new never reach clients). */
    public String api() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * The API's word for a meeting in {@code status} at {@code stage}, for the meeting view and the
   * list alike: a job a gpu node has accepted but not yet started (no stage yet, or {@link
   * dev.parley.protocol.worker.InferenceProtocol#STAGE_WAITING}: it waits for a free slot there) is
   * still {@code queued}; {@code processing} starts with its first stage of work.
   */
  public static String apiStatus(Status status, String stage) {
    if (status == Status.PROCESSING
        && (stage == null || InferenceProtocol.STAGE_WAITING.equals(stage))) {
      return Status.QUEUED.api();
    }
    return status.api();
  }

  /** Where the audio is and what it is. */
  public record Audio(String key, long size, String sha256, String contentType, String fileName,
      Double durationSeconds) implements CborSerializable {}

  public record Failure(String reason, boolean retryable) implements CborSerializable {}

  public record State(
      String meetingId,
      String owner,
      String title,
      DiarizationOptions options,
      Instant createdAt,
      Audio audio,
      Status status,
      int attempt,
      String attemptId,
      String node,
      String stage,
      double progress,
      String retryReason,
      DiarizationResult result,
      Failure failure,
      Instant retryAt) implements CborSerializable {

    static State empty(String meetingId) {
      return new State(meetingId, null, null, null, null, null, Status.NEW, 0, null, null, null, 0.0, null, null, null,
          null);
    }

    @JsonIgnore
    public boolean exists() {
      return status != Status.NEW && status != Status.DELETED;
    }

    @JsonIgnore
    public boolean isActive() {
      return status == Status.QUEUED || status == Status.PROCESSING;
    }

    /** The API's word for this state: {@link Meeting#apiStatus(Status, String)}. */
    @JsonIgnore
    public String apiStatus() {
      return Meeting.apiStatus(status, stage);
    }

    @JsonIgnore
    public boolean isFinished() {
      return status == Status.DONE || status == Status.FAILED;
    }

    /** Audio length: from the upload's header when known, else from the result. */
    @JsonIgnore
    public Double durationSeconds() {
      if (audio != null && audio.durationSeconds() != null) return audio.durationSeconds();
      if (result != null && result.timing() != null) return result.timing().audioSeconds();
      return null;
    }

    State apply(Event e) {
      if (e instanceof Created c) {
        return new State(c.meetingId(), c.owner(), c.title(), c.options(), c.createdAt(), audio, Status.NEW,
            attempt, attemptId, node, stage, progress, retryReason, result, failure, retryAt);
      } else if (e instanceof AudioStored a) {
        Audio au = new Audio(a.key(), a.size(), a.sha256(), a.contentType(), a.fileName(), a.durationSeconds());
        return new State(meetingId, owner, title, options, createdAt, au, status, attempt, attemptId, node, stage,
            progress, retryReason, result, failure, retryAt);
      } else if (e instanceof Queued q) {
        return new State(meetingId, owner, title, options, createdAt, audio, Status.QUEUED, q.attempt(),
            q.attemptId(), null, null, 0.0, q.reason(), null, null, q.retryAt());
      } else if (e instanceof Dispatched d) {
        return new State(meetingId, owner, title, options, createdAt, audio, Status.PROCESSING, d.attempt(),
            d.attemptId(), d.node(), stage, progress, retryReason, result, failure, null);
      } else if (e instanceof Progress p) {
        return new State(meetingId, owner, title, options, createdAt, audio, Status.PROCESSING, attempt, attemptId,
            p.node(), p.stage(), p.fraction(), retryReason, result, failure, null);
      } else if (e instanceof Completed c) {
        return new State(meetingId, owner, title, options, createdAt, audio, Status.DONE, attempt, attemptId,
            c.node(), "done", 1.0, retryReason, c.result(), null, null);
      } else if (e instanceof Failed f) {
        return new State(meetingId, owner, title, options, createdAt, audio, Status.FAILED, attempt, attemptId,
            f.node(), stage, progress, retryReason, null, new Failure(f.reason(), f.retryable()), null);
      } else if (e instanceof Deleted) {
        // keep the identity (owner, audio key) but drop the result
        return new State(meetingId, owner, title, options, createdAt, audio, Status.DELETED, attempt, attemptId,
            node, stage, progress, retryReason, null, failure, null);
      }
      throw new IllegalArgumentException("unknown event " + e.getClass().getName());
    }
  }

  // ---------------------------------------------------------------- behavior

  private static final String RESEND_TIMER = "resend";
  private static final String HEARTBEAT_TIMER = "heartbeat";
  private static final String NODE_CHECK_TIMER = "node-check";
  private static final String IDLE_TIMER = "idle";

  private final String meetingId;
  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final MeetingSettings settings;
  private final WorkerGateway workers;
  private final BlobStore blobs;
  private final ActorRef<ClusterSharding.ShardCommand> shard;
  private final ActorRef<JobUpdate> updates;
  private final Executor blocking;
  /** A blob delete is under way: a Stop waits for it, so a DELETE's reply is not lost in a hand-off. */
  private boolean deletingBlob;

  /**
   * @param shard the entity's shard (passivation); {@code null} outside sharding (tests), where a
   *     final meeting stops itself instead
   */
  public static Behavior<Command> create(String meetingId, MeetingSettings settings, WorkerGateway workers,
      BlobStore blobs, ActorRef<ClusterSharding.ShardCommand> shard) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new Meeting(meetingId, ctx, timers, settings, workers, blobs, shard)));
  }

  private Meeting(String meetingId, ActorContext<Command> ctx, TimerScheduler<Command> timers,
      MeetingSettings settings, WorkerGateway workers, BlobStore blobs,
      ActorRef<ClusterSharding.ShardCommand> shard) {
    super(PersistenceId.of(ENTITY_KEY.name(), meetingId));
    this.meetingId = meetingId;
    this.ctx = ctx;
    this.timers = timers;
    this.settings = settings;
    this.workers = workers;
    this.blobs = blobs;
    this.shard = shard;
    this.updates = ctx.messageAdapter(JobUpdate.class, WorkerUpdate::new);
    this.blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(HttpSettings.BLOCKING_DISPATCHER));
  }

  /** {@code <meetingId>-<attempt>}: the worker entity id of one attempt. */
  public static String attemptId(String meetingId, int attempt) {
    return meetingId + "-" + attempt;
  }

  /** The attempt number encoded in a worker's attempt id, or -1 when it is not one of ours. */
  int attemptOf(JobUpdate u) {
    if (!meetingId.equals(u.meetingId()) || u.attemptId() == null) return -1;
    String prefix = meetingId + "-";
    if (!u.attemptId().startsWith(prefix)) return -1;
    try {
      return Integer.parseInt(u.attemptId().substring(prefix.length()));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  @Override
  public State emptyState() {
    return State.empty(meetingId);
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of(TAG);
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return State::apply;
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), this::onRecovered)
        .build();
  }

  private void onRecovered(State s) {
    switch (s.status()) {
      case QUEUED -> {
        Duration wait = s.retryAt() == null ? Duration.ZERO
            : Duration.between(Instant.now(), s.retryAt());
        if (wait.isNegative() || wait.isZero()) {
          ctx.getLog().info("meeting {}: recovered queued, sending attempt {}", meetingId, s.attemptId());
          dispatch(s);
        } else {
          // a retry's backoff goes on where it was, so a restart does not spend attempts faster
          ctx.getLog().info("meeting {}: recovered queued, sending attempt {} in {} s", meetingId, s.attemptId(),
              wait.toMillis() / 1000.0);
          timers.startSingleTimer(RESEND_TIMER, new RetryDue(s.attemptId()), wait);
        }
      }
      case PROCESSING -> {
        ctx.getLog().info("meeting {}: recovered while attempt {} ran on {}; re-sending it", meetingId,
            s.attemptId(), s.node());
        dispatch(s);
        restartHeartbeat(s);
      }
      case DELETED -> {
        // a crash between the Deleted event and the blob removal leaves the blob: remove it again
        if (s.audio() != null) deleteBlob(s.audio().key(), null);
        passivate();
      }
      default -> idleTimer();
    }
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    CommandHandlerBuilder<Command, Event, State> b = newCommandHandlerBuilder();
    b.forState(s -> s.status() == Status.NEW)
        .onCommand(Create.class, this::onCreate)
        .onCommand(Delete.class, this::notFound);
    b.forState(State::isActive)
        .onCommand(WorkerUpdate.class, this::onUpdate)
        .onCommand(Resend.class, this::onResend)
        .onCommand(RetryDue.class, this::onRetryDue)
        .onCommand(HeartbeatTimeout.class, this::onHeartbeatTimeout)
        .onCommand(CheckWorkerNode.class, this::onCheckWorkerNode)
        .onCommand(Delete.class, this::onDelete);
    b.forState(State::isFinished)
        .onCommand(Delete.class, this::onDelete);
    b.forState(s -> s.status() == Status.DELETED)
        .onCommand(Delete.class, this::notFound);
    b.forAnyState()
        .onCommand(Create.class, (s, c) ->
            Effect().reply(c.replyTo(), new Rejected(Rejection.ALREADY_EXISTS, "meeting " + meetingId + " already exists")))
        .onCommand(Get.class, (s, c) -> {
          if (!s.isActive()) idleTimer();
          return Effect().reply(c.replyTo(), s);
        })
        .onCommand(WorkerUpdate.class, (s, c) -> {
          ctx.getLog().debug("meeting {} ({}): ignoring {} from attempt {}", meetingId, s.status(),
              c.update().getClass().getSimpleName(), c.update().attemptId());
          return Effect().none();
        })
        .onCommand(Resend.class, (s, c) -> Effect().none())
        .onCommand(RetryDue.class, (s, c) -> Effect().none())
        .onCommand(HeartbeatTimeout.class, (s, c) -> Effect().none())
        .onCommand(CheckWorkerNode.class, (s, c) -> Effect().none())
        .onCommand(BlobDeleted.class, this::onBlobDeleted)
        .onCommand(Idle.class, (s, c) -> {
          if (!s.isActive()) passivate();
          return Effect().none();
        })
        .onCommand(Stop.class, (s, c) -> deletingBlob ? Effect().stash() : Effect().stop());
    return b.build();
  }

  private Effect<Event, State> onCreate(State s, Create c) {
    String error = validate(c);
    if (error != null) return Effect().reply(c.replyTo(), new Rejected(Rejection.INVALID, error));
    Instant now = Instant.now();
    if (c.answerBy() != null && now.isAfter(c.answerBy())) {
      // late because the journal or a shard's start was slow, or, when every upload to this node's
      // meetings ends so, because its clock runs ahead of the sender's (the deadline is the sender's clock)
      ctx.getLog().warn("meeting {}: refused a create that arrived {} ms after its sender gave up (at {} by the"
          + " sender's clock): a slow journal or shard start, or clocks that differ if every upload fails so",
          meetingId, Duration.between(c.answerBy(), now).toMillis(), c.answerBy());
      return Effect().reply(c.replyTo(), new Rejected(Rejection.EXPIRED, "the create arrived after its sender gave up"));
    }
    Audio a = c.audio();
    String title = title(c.title());
    DiarizationOptions options = c.options() == null ? DiarizationOptions.NONE : c.options();
    List<Event> events = List.of(
        new Created(meetingId, c.owner(), title, options, now),
        new AudioStored(a.key(), a.size(), a.sha256(), a.contentType(), a.fileName(), a.durationSeconds()),
        new Queued(1, attemptId(meetingId, 1), null));
    return Effect().persist(events).thenRun(st -> {
      ctx.getLog().info("meeting {}: created for {} ({} bytes), queued attempt {}", meetingId, st.owner(),
          st.audio().size(), st.attemptId());
      dispatch(st);
    }).thenReply(c.replyTo(), Accepted::new);
  }

  private Effect<Event, State> notFound(State s, Delete d) {
    return Effect().reply(d.replyTo(), new Rejected(Rejection.NOT_FOUND, "meeting not found"));
  }

  private static String validate(Create c) {
    if (c.owner() == null || c.owner().isBlank()) return "owner is required";
    if (c.audio() == null || c.audio().key() == null || c.audio().key().isBlank()) return "audio is required";
    if (c.audio().size() <= 0) return "audio is empty";
    return null;
  }

  private Effect<Event, State> onUpdate(State s, WorkerUpdate w) {
    JobUpdate u = w.update();
    int k = attemptOf(u);
    if (k < 1 || k > s.attempt()) {
      ctx.getLog().warn("meeting {}: ignoring {} for unknown attempt {}", meetingId, u.getClass().getSimpleName(),
          u.attemptId());
      return Effect().none();
    }
    // the first result of any attempt counts; everything else only from the current attempt: an
    // older one may be failing because it was cancelled as superseded, and the newer one is under way
    if (u instanceof JobCompleted done) return onCompleted(k, done);
    boolean current = k == s.attempt() && u.attemptId().equals(s.attemptId());
    if (!current) return Effect().none();
    if (u instanceof JobFailed f) return onFailed(s, f);
    if (u instanceof JobAccepted a) return onAccepted(s, a);
    if (u instanceof JobProgress p) return onProgress(s, p);
    return Effect().none();
  }

  /** A result of attempt {@code k}, current or older: the meeting is done; the other attempts are cancelled. */
  private Effect<Event, State> onCompleted(int k, JobCompleted done) {
    if (done.result() == null) {
      return Effect().none();
    }
    ctx.getLog().info("meeting {}: attempt {} completed on {} ({} segments, {} speakers)", meetingId,
        done.attemptId(), done.node(), done.result().segments().size(), done.result().speakers().size());
    return Effect().persist(new Completed(k, done.attemptId(), done.node(), done.result())).thenRun(st -> {
      finished();
      cancelAttempts(st, done.attemptId(), "the meeting has its result");
    });
  }

  /** The current attempt failed: final when the worker says the input is bad, else retried. */
  private Effect<Event, State> onFailed(State s, JobFailed f) {
    if (!f.retryable()) {
      ctx.getLog().info("meeting {}: attempt {} failed on {} (not retryable): {}", meetingId, f.attemptId(),
          f.node(), f.reason());
      return Effect().persist(new Failed(s.attempt(), f.attemptId(), f.node(), f.reason(), false))
          .thenRun(st -> finished());
    }
    // a node that has left or is lost reports the jobs it stopped on its way out (shutdown cancels
    // them): that says nothing of the job, so it is sent again at once, as for any lost node
    Duration backoff = workers.lost(f.node()) ? Duration.ZERO : settings.backoffBefore(s.attempt() + 1);
    return retryOrFail(s, "attempt " + s.attempt() + " failed on " + f.node() + ": " + f.reason(), f.node(),
        f.reason(), backoff);
  }

  /** A worker has the current attempt: stop re-sending, watch its heartbeat, record its node. */
  private Effect<Event, State> onAccepted(State s, JobAccepted a) {
    timers.cancel(RESEND_TIMER);
    restartHeartbeat(s);
    if (s.status() == Status.QUEUED || !Objects.equals(s.node(), a.node())) {
      ctx.getLog().info("meeting {}: attempt {} accepted by {}", meetingId, s.attemptId(), a.node());
      return Effect().persist(new Dispatched(s.attempt(), s.attemptId(), a.node()));
    }
    return Effect().none();
  }

  /** Progress of the current attempt (also its heartbeat): persisted per stage and per {@code progress-step}. */
  private Effect<Event, State> onProgress(State s, JobProgress p) {
    if (InferenceProtocol.STAGE_WAITING.equals(p.stage())) {
      // accepted, but waiting for a slot on its node: keep sending, so that once the gpu pool moves
      // the waiting job to a node with a free slot (GpuPlacement), the next send starts it there
      if (!timers.isTimerActive(RESEND_TIMER)) {
        timers.startTimerWithFixedDelay(RESEND_TIMER, new Resend(s.attemptId()), settings.resendInterval());
      }
    } else {
      timers.cancel(RESEND_TIMER);
    }
    restartHeartbeat(s);
    List<Event> events = new ArrayList<>(2);
    if (s.status() == Status.QUEUED || !Objects.equals(s.node(), p.node())) {
      events.add(new Dispatched(s.attempt(), s.attemptId(), p.node()));
    }
    double fraction = Math.max(0.0, Math.min(1.0, p.fraction()));
    boolean stageChanged = !Objects.equals(s.stage(), p.stage());
    if (stageChanged || fraction >= s.progress() + settings.progressStep() - 1e-9) {
      events.add(new Progress(s.attempt(), s.attemptId(), p.stage(), fraction, p.node()));
    }
    return events.isEmpty() ? Effect().none() : Effect().persist(events);
  }

  /**
   * Starts the next attempt, or fails the meeting once {@code max-attempts} are spent.
   *
   * @param logReason what went wrong, for the log and the retry's {@link Queued#reason()}
   * @param clientReason what the client reads in the failure if this was the last attempt
   */
  private Effect<Event, State> retryOrFail(State s, String logReason, String node, String clientReason) {
    return retryOrFail(s, logReason, node, clientReason, Duration.ZERO);
  }

  /** @param backoff how long the next attempt waits before it is sent (its meeting stays queued) */
  private Effect<Event, State> retryOrFail(State s, String logReason, String node, String clientReason,
      Duration backoff) {
    stopDeliveryTimers();
    if (s.attempt() < settings.maxAttempts()) {
      int next = s.attempt() + 1;
      String nextId = attemptId(meetingId, next);
      if (backoff.isZero()) {
        ctx.getLog().warn("meeting {}: {}; retrying as attempt {}", meetingId, logReason, nextId);
      } else {
        ctx.getLog().warn("meeting {}: {}; retrying as attempt {} in {} s", meetingId, logReason, nextId,
            backoff.toMillis() / 1000.0);
      }
      String superseded = s.attemptId();
      Instant retryAt = backoff.isZero() ? null : Instant.now().plus(backoff);
      return Effect().persist(new Queued(next, nextId, logReason, retryAt)).thenRun(st -> {
        // the old attempt may still be waiting or running on a node that paused: stop it there
        workers.cancel(new CancelJob(meetingId, superseded, "superseded by attempt " + next));
        if (backoff.isZero()) dispatch(st);
        else timers.startSingleTimer(RESEND_TIMER, new RetryDue(nextId), backoff); // a later dispatch replaces it
      });
    }
    ctx.getLog().warn("meeting {}: {}; giving up after {} attempts", meetingId, logReason, s.attempt());
    String why = clientReason + " (gave up after " + s.attempt() + " attempts)"; // see GAVE_UP
    return Effect().persist(new Failed(s.attempt(), s.attemptId(), node, why, true)).thenRun(st -> {
      finished();
      // a node that went silent or unreachable may still run the last attempt: its result would be thrown away
      cancelAttempts(st, null, "the meeting gave up");
    });
  }

  /** The ending of a retryable failure's reason: transient failures used up the attempts. */
  private static final Pattern GAVE_UP = Pattern.compile(" \\(gave up after \\d+ attempts\\)$");

  /**
   * Whether {@code reason} is a Failed reason whose failure was retryable, read from its text: for a
   * list row whose flag an older release's projection did not write.
   */
  public static boolean gaveUp(String reason) {
    return reason != null && GAVE_UP.matcher(reason).find();
  }

  private Effect<Event, State> onRetryDue(State s, RetryDue r) {
    if (r.attemptId().equals(s.attemptId()) && s.status() == Status.QUEUED) dispatch(s);
    return Effect().none();
  }

  private Effect<Event, State> onResend(State s, Resend r) {
    if (r.attemptId().equals(s.attemptId())) send(s);
    return Effect().none();
  }

  private Effect<Event, State> onHeartbeatTimeout(State s, HeartbeatTimeout h) {
    if (!h.attemptId().equals(s.attemptId()) || s.status() != Status.PROCESSING) return Effect().none();
    String node = s.node() == null ? "its worker" : s.node();
    return retryOrFail(s, "no progress from " + node + " for " + settings.heartbeatTimeout().toMillis() + " ms",
        s.node(), "the gpu worker stopped answering");
  }

  private Effect<Event, State> onCheckWorkerNode(State s, CheckWorkerNode c) {
    if (s.status() != Status.PROCESSING || s.node() == null || !workers.lost(s.node())) return Effect().none();
    return retryOrFail(s, s.node() + " is unreachable, leaving or gone", s.node(), "the gpu node running the job became unreachable or left");
  }

  private Effect<Event, State> onDelete(State s, Delete d) {
    boolean running = s.isActive();
    return Effect().persist(new Deleted(s.audio() == null ? null : s.audio().key())).thenRun(st -> {
      stopDeliveryTimers();
      ctx.getLog().info("meeting {}: deleted", meetingId);
      // the gpu nodes need not finish a job whose result would be thrown away: any attempt of it
      if (running) cancelAttempts(st, null, "the meeting was deleted");
      if (st.audio() == null) {
        d.replyTo().tell(new Accepted(st));
        passivate();
      } else {
        deleteBlob(st.audio().key(), d.replyTo());
      }
    });
  }

  private Effect<Event, State> onBlobDeleted(State s, BlobDeleted b) {
    if (b.error() != null) {
      // the meeting is deleted either way; the next start of this entity tries the blob again
      ctx.getLog().error("meeting {}: audio could not be removed: {}", meetingId, b.error());
    }
    if (b.replyTo() != null) b.replyTo().tell(new Accepted(s));
    deletingBlob = false;
    passivate();
    return Effect().none().thenUnstashAll();
  }

  private void deleteBlob(String key, ActorRef<Reply> replyTo) {
    deletingBlob = true;
    CompletableFuture<Void> f = CompletableFuture.runAsync(() -> {
      try {
        blobs.delete(key);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }, blocking);
    ctx.pipeToSelf(f, (ok, err) -> new BlobDeleted(replyTo, err == null ? null : String.valueOf(err.getMessage())));
  }

  // ---------------------------------------------------------------- delivery

  private void dispatch(State s) {
    send(s);
    timers.startTimerWithFixedDelay(RESEND_TIMER, new Resend(s.attemptId()), settings.resendInterval());
  }

  private void send(State s) {
    workers.send(new RunJob(meetingId, s.attemptId(), s.attempt(), s.audio().key(), s.options(), updates));
  }

  private void restartHeartbeat(State s) {
    timers.startSingleTimer(HEARTBEAT_TIMER, new HeartbeatTimeout(s.attemptId()), settings.heartbeatTimeout());
    if (!timers.isTimerActive(NODE_CHECK_TIMER)) {
      timers.startTimerWithFixedDelay(NODE_CHECK_TIMER, CheckWorkerNode.INSTANCE, settings.resendInterval());
    }
  }

  /** Best effort: stops every attempt of this meeting but {@code keep} wherever it still waits or runs. */
  private void cancelAttempts(State s, String keep, String reason) {
    for (int n = 1; n <= s.attempt(); n++) {
      String id = attemptId(meetingId, n);
      if (!id.equals(keep)) workers.cancel(new CancelJob(meetingId, id, reason));
    }
  }

  /** The meeting is final: no more delivery; passivate once idle. */
  private void finished() {
    stopDeliveryTimers();
    idleTimer();
  }

  private void stopDeliveryTimers() {
    timers.cancel(RESEND_TIMER);
    timers.cancel(HEARTBEAT_TIMER);
    timers.cancel(NODE_CHECK_TIMER);
  }

  private void idleTimer() {
    timers.startSingleTimer(IDLE_TIMER, Idle.INSTANCE, settings.passivateAfter());
  }

  private void passivate() {
    timers.cancel(IDLE_TIMER);
    if (shard != null) {
      shard.tell(new ClusterSharding.Passivate<>(ctx.getSelf()));
    } else {
      ctx.getSelf().tell(Stop.INSTANCE);
    }
  }

  /**
   * U+202A-U+202E and U+2066-U+2069, which reorder the text after them: "report", U+202E, "vaw.exe"
   * shows as "reportexe.wav" (a security review). Left-to-right and right-to-left marks stay; text needs them.
   */
  static final String BIDI_CONTROLS = "[\\x{202A}-\\x{202E}\\x{2066}-\\x{2069}]";

  /**
   * The title a meeting is shown with: control characters and line or paragraph separators (a
   * pasted line break, a stray escape code) become spaces, bidirectional embeddings, overrides and
   * isolates go ({@link #BIDI_CONTROLS}), and the ends lose their spaces of every kind (no-break and
   * zero-width ones, a byte order mark); none, or only those, is "Untitled meeting".
   */
  static String title(String given) {
    String t = given == null ? "" : given.replaceAll("[\\p{Cc}\\p{Zl}\\p{Zp}]", " ").replaceAll(BIDI_CONTROLS, "")
        .replaceAll("^[\\s\\p{Z}\\p{Cf}]+|[\\s\\p{Z}\\p{Cf}&&[^\\x{E0020}-\\x{E007F}]]+$", ""); // tags end emoji flags
    return t.isEmpty() ? "Untitled meeting" : t;
  }
}
