package dev.parley.http.meeting;

import dev.parley.http.HttpSettings;
import dev.parley.http.auth.AuthUser;
import dev.parley.http.meeting.list.Cursor;
import dev.parley.http.meeting.list.ListCache;
import dev.parley.http.meeting.list.MeetingListRepository;
import dev.parley.http.meeting.list.MeetingRow;
import dev.parley.http.web.ApiException;
import dev.parley.http.web.Blocking;
import dev.parley.http.web.Json;
import dev.parley.protocol.DiarizationOptions;
import dev.parley.protocol.blob.BlobStore;
import dev.parley.protocol.worker.InferenceProtocol;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.model.Multipart;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.StreamConverters;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the meeting routes do, without the HTTP: uploads streamed into the blob store and turned
 * into Meeting entities, access checks, reads through the entity, the journal and the list.
 */
public final class MeetingService {
  private static final Logger log = LoggerFactory.getLogger(MeetingService.class);
  private static final Pattern ID = Pattern.compile("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
  private static final int MAX_FIELD_BYTES = 4096;
  private static final int MAX_SPEAKERS = DiarizationOptions.MAX_SPEAKERS;
  /** How many times to ask whether a meeting whose create timed out exists, before giving up on its upload. */
  static final int ORPHAN_CHECKS = 3;
  /**
   * How many random meeting ids an unkeyed upload tries while an http node is unreachable: the first
   * alone, the others at once when it got no answer ({@link #placed}). With one of n http nodes dead,
   * all of them fall on its shards once in n^8 uploads (one in 6,561 with three nodes).
   */
  static final int PLACEMENT_DRAWS = 8;
  /** What a client waits before it retries an upload refused while an http node is being replaced. */
  private static final long REPLACEMENT_RETRY_AFTER_S = 5;

  /** The optional upload fields (multipart fields or query parameters). */
  public static final List<String> FIELDS = List.of("title", "numSpeakers", "minSpeakers", "maxSpeakers");

  /** One event of a meeting's history. */
  public record HistoryEntry(long sequenceNr, Instant timestamp, String type, Meeting.Event event) {}

  /**
   * The answer to an upload: its meeting; {@code replayed} when an earlier try with the same
   * Idempotency-Key made it.
   */
  public record Uploaded(Meeting.State state, boolean replayed) {}

  private final ActorSystem<?> system;
  private final ClusterSharding sharding;
  private final BlobStore blobs;
  private final MeetingListRepository list;
  private final JdbcReadJournal journal;
  private final HttpSettings settings;
  private final Executor blocking;
  /** Where uploads stream into the blob store: threads of their own, as many as {@link #uploadSlots}. */
  private final Executor uploads;
  private final Semaphore uploadSlots;
  private final ConcurrentHashMap<String, Integer> uploadsByUser = new ConcurrentHashMap<>();
  private final Materializer mat;
  private final ListCache listCache;

  public MeetingService(ActorSystem<?> system, BlobStore blobs, MeetingListRepository list, JdbcReadJournal journal,
      HttpSettings settings, Executor blocking) {
    this.system = system;
    this.sharding = ClusterSharding.get(system);
    this.blobs = blobs;
    this.list = list;
    this.journal = journal;
    this.settings = settings;
    this.blocking = blocking;
    this.uploads = system.dispatchers().lookup(
        DispatcherSelector.fromConfig(HttpSettings.UPLOAD_DISPATCHER));
    this.uploadSlots = new Semaphore(settings.maxConcurrentUploads());
    this.mat = Materializer.matFromSystem(system);
    this.listCache = new ListCache(settings.listCacheTtl(), 10_000);
  }

  public BlobStore blobs() {
    return blobs;
  }

  public HttpSettings settings() {
    return settings;
  }

  // ---------------------------------------------------------------- uploads

  /**
   * A raw audio body: fields come from the query string. {@code fileName}: the file name of the
   * request's Content-Disposition, null for none; like a form's file name, it names the audio and,
   * without a {@code title}, the meeting. {@code idempotencyKey}: the request's Idempotency-Key, null
   * for none ({@link UploadIds}).
   */
  public CompletionStage<Uploaded> uploadRaw(AuthUser user, Source<ByteString, ?> body, String contentType,
      String fileName, Map<String, String> params, String idempotencyKey) {
    DiarizationOptions options = options(params); // fail before reading the body
    String title = params.get("title") == null || params.get("title").isBlank() ? titleFrom(fileName) : params.get("title");
    return placed(user, target(user, idempotencyKey), target -> inUploadSlot(user,
        () -> store(target.blobKey(), body, contentType, fileName)
            .thenCompose(a -> create(user, target, title, options, a))));
  }

  /**
   * Runs {@code upload} with a target whose meeting can be created, decided before a byte of the
   * body is read and before an upload slot is taken: a client that sent {@code Expect: 100-continue}
   * and waits for the answer never sends the body (curl waits 1 s, then sends it; a refusal closes
   * the connection). While this node sees an http member unreachable (crashed, and not yet downed:
   * about 12 s), every message to a meeting whose shard that member hosted waits until the shard is
   * reallocated, and a Create there would time out after the whole body was stored; so the meeting's
   * entity is asked first ({@link #answers}). A keyed upload's meeting is fixed by its key: 503 when
   * it does not answer. An unkeyed upload draws other random ids, whose shards are likely elsewhere,
   * {@link #PLACEMENT_DRAWS} in all: 503 when none answers. The body waits at most two {@code
   * upload-probe-timeout}s. With no unreachable http member {@code upload} runs at once.
   */
  private <T> CompletionStage<T> placed(AuthUser user, UploadIds.Target target,
      Function<UploadIds.Target, CompletionStage<T>> upload) {
    if (!httpMemberUnreachable()) return upload.apply(target);
    return answers(target.meetingId()).thenCompose(yes -> {
      if (yes) return CompletableFuture.completedStage(target);
      if (target.keyed()) {
        log.info("meeting {}: keyed upload by {} refused before its body: the meeting does not answer while an"
            + " http node is unreachable", target.meetingId(), user.id());
        throw replacingNode("this upload's meeting is on an http node that stopped answering");
      }
      log.info("upload by {}: meeting {} does not answer while an http node is unreachable; trying {} other ids",
          user.id(), target.meetingId(), PLACEMENT_DRAWS - 1);
      List<UploadIds.Target> others = new ArrayList<>();
      for (int i = 1; i < PLACEMENT_DRAWS; i++) others.add(UploadIds.target(user.id(), null));
      return firstAnswering(user, others);
    }).thenCompose(upload);
  }

  /** The first of {@code targets} whose meeting answers, all asked at once; 503 when none does. */
  private CompletionStage<UploadIds.Target> firstAnswering(AuthUser user, List<UploadIds.Target> targets) {
    CompletableFuture<UploadIds.Target> first = new CompletableFuture<>();
    AtomicInteger unanswered = new AtomicInteger(targets.size());
    for (UploadIds.Target t : targets) {
      answers(t.meetingId()).thenAccept(yes -> {
        if (yes) {
          first.complete(t);
        } else if (unanswered.decrementAndGet() == 0) {
          log.info("upload by {} refused before its body: none of {} meeting ids answered while an http node is"
              + " unreachable", user.id(), targets.size() + 1);
          first.completeExceptionally(replacingNode("no meeting could be placed while an http node is unreachable"));
        }
      });
    }
    return first;
  }

  /**
   * Whether meeting {@code id}'s entity answers a {@link Meeting.Get} within {@code upload-probe-timeout}.
   * The Get persists no Meeting event: a meeting not yet created answers its empty state and
   * passivates once idle. Sharding remembers the entity meanwhile (an entry in its remember-entities
   * journal when it starts and one when it stops), as it would for the Create that follows; an id an
   * unkeyed upload drew and did not use costs those two entries.
   */
  private CompletionStage<Boolean> answers(String id) {
    return entity(id).<Meeting.State>ask(Meeting.Get::new, settings.uploadProbeTimeout())
        .handleAsync((s, err) -> err == null, system.executionContext());
  }

  /** Whether this node sees an http member unreachable: the only time {@link #placed} asks before an upload. */
  private boolean httpMemberUnreachable() {
    for (Member m : Cluster.get(system).state().getUnreachable()) {
      if (m.hasRole(InferenceProtocol.HTTP_ROLE)) return true;
    }
    return false;
  }

  private static ApiException replacingNode(String why) {
    return new ApiException(StatusCodes.SERVICE_UNAVAILABLE, "unavailable", why + "; it is being replaced, try again"
        + " in a few seconds", RetryAfter.create(REPLACEMENT_RETRY_AFTER_S));
  }

  /**
   * The upload's meeting id and blob key; 503 for a keyed upload while an http node of a release
   * before {@link UploadIds#SINCE} is a member (it would take the keyed blob key for the audio of a
   * meeting never created, and its orphan sweep would remove it an hour later), or while this node
   * has not joined and cannot tell.
   */
  private UploadIds.Target target(AuthUser user, String idempotencyKey) {
    UploadIds.Target target = UploadIds.target(user.id(), idempotencyKey);
    if (!target.keyed()) return target;
    Cluster cluster = Cluster.get(system);
    MemberStatus self = cluster.selfMember().status();
    if (self != MemberStatus.up() && self != MemberStatus.weaklyUp()) { // its members are not known yet
      throw new ApiException(StatusCodes.SERVICE_UNAVAILABLE, "unavailable",
          "this node has not joined its cluster yet; try again shortly", RetryAfter.create(5L));
    }
    UploadIds.olderHttpRelease(cluster.state().getMembers()).ifPresent(older -> {
      throw new ApiException(StatusCodes.SERVICE_UNAVAILABLE, "upgrade_in_progress", "uploads with an "
          + UploadIds.IDEMPOTENCY_KEY + " wait until every http node runs release " + UploadIds.SINCE.version()
          + " or later (one runs " + older.version() + "); try again once the upgrade is done", RetryAfter.create(60L));
    });
    return target;
  }

  /**
   * Runs {@code upload} in one of this node's upload slots, at most {@code max-concurrent-uploads-per-user}
   * of them for one user: 503 when the node has none free, 429 when the user has as many as allowed.
   * Slow clients then hold upload slots only, never the threads the rest of the API runs on.
   */
  <T> CompletionStage<T> inUploadSlot(AuthUser user, Supplier<CompletionStage<T>> upload) {
    if (!uploadSlots.tryAcquire()) {
      log.info("upload by {} refused: all {} upload slots are busy", user.id(), settings.maxConcurrentUploads());
      throw new ApiException(StatusCodes.SERVICE_UNAVAILABLE, "busy",
          "too many uploads are in progress on this server; try again shortly", RetryAfter.create(5L));
    }
    boolean[] mine = {false};
    uploadsByUser.compute(user.id(), (k, n) -> {
      int c = n == null ? 0 : n;
      if (c >= settings.maxConcurrentUploadsPerUser()) return n;
      mine[0] = true;
      return c + 1;
    });
    if (!mine[0]) {
      uploadSlots.release();
      throw new ApiException(StatusCodes.TOO_MANY_REQUESTS, "too_many_uploads",
          "at most " + settings.maxConcurrentUploadsPerUser() + " uploads at once per user; wait for one to finish",
          RetryAfter.create(5L));
    }
    CompletionStage<T> running;
    try {
      running = upload.get();
    } catch (RuntimeException e) {
      releaseUploadSlot(user);
      throw e;
    }
    return running.whenComplete((r, e) -> releaseUploadSlot(user));
  }

  private void releaseUploadSlot(AuthUser user) {
    uploadsByUser.computeIfPresent(user.id(), (k, n) -> n <= 1 ? null : n - 1);
    uploadSlots.release();
  }

  /**
   * The upload's fields ({@link #FIELDS}) from the query string; 400 for one given twice (in either
   * spelling, see {@link #field}), whose meaning would depend on which copy won. Other parameters
   * are ignored.
   */
  static Map<String, String> fields(Map<String, List<String>> query) {
    Map<String, String> fields = new HashMap<>();
    query.forEach((name, values) -> {
      String field = field(name);
      if (field == null) return;
      if (values.size() > 1 || fields.containsKey(field)) throw givenTwice(field);
      fields.put(field, values.get(0));
    });
    return fields;
  }

  /**
   * The upload field {@code name} stands for, or null for none: one of {@link #FIELDS}, or the
   * snake_case spelling of a speaker count ({@code num_speakers}, as pyannote's API and many scripts
   * spell it: QA found it silently ignored, the recording then clustered without the count).
   */
  static String field(String name) {
    if (FIELDS.contains(name)) return name;
    return switch (name) {
      case "num_speakers" -> "numSpeakers";
      case "min_speakers" -> "minSpeakers";
      case "max_speakers" -> "maxSpeakers";
      default -> null;
    };
  }

  private static ApiException givenTwice(String name) {
    return new ApiException(StatusCodes.BAD_REQUEST, "'" + name + "' is given twice; give it once");
  }

  /**
   * A multipart form: a {@code file} part and optional field parts, in any order. Fields may also
   * come in the query string, as for a raw upload; a form field wins over the same query parameter,
   * and one given twice in the form is a 400.
   */
  public CompletionStage<Uploaded> uploadMultipart(AuthUser user, Multipart.FormData form, Map<String, String> query,
      String idempotencyKey) {
    // fail before reading the body
    return placed(user, target(user, idempotencyKey), target -> inUploadSlot(user,
        () -> uploadMultipart(user, form, query, target)));
  }

  private CompletionStage<Uploaded> uploadMultipart(AuthUser user, Multipart.FormData form, Map<String, String> query,
      UploadIds.Target target) {
    String key = target.blobKey();
    Map<String, String> fields = new ConcurrentHashMap<>(query);
    Set<String> inForm = ConcurrentHashMap.newKeySet();
    AtomicBoolean sawFile = new AtomicBoolean();
    CompletionStage<Optional<Meeting.Audio>> parts = form.getParts()
        .mapAsync(1, part -> {
          String name = part.getName();
          if ("file".equals(name)) {
            if (!sawFile.compareAndSet(false, true)) {
              part.getEntity().discardBytes(mat);
              throw new ApiException(StatusCodes.BAD_REQUEST, "only one 'file' field is allowed");
            }
            return store(key, part.getEntity().getDataBytes(), part.getEntity().getContentType().toString(),
                part.getFilename().map(MeetingService::formFileName).orElse(null)).thenApply(Optional::of);
          }
          String field = field(name);
          if (field != null) {
            return part.getEntity().toStrict(settings.askTimeout().toMillis(), MAX_FIELD_BYTES, mat).handle((s, err) -> {
              if (err != null) {
                throw new ApiException(StatusCodes.BAD_REQUEST, "bad_request",
                    "the form field '" + name + "' could not be read (at most " + MAX_FIELD_BYTES + " bytes)");
              }
              if (!inForm.add(field)) throw givenTwice(field);
              fields.put(field, s.getData().utf8String().strip()); // a form field wins over the query's
              return Optional.<Meeting.Audio>empty();
            });
          }
          return part.getEntity().discardBytes(mat).completionStage().thenApply(d -> Optional.<Meeting.Audio>empty());
        })
        .runWith(Sink.fold(Optional.<Meeting.Audio>empty(), (acc, o) -> o.isPresent() ? o : acc), mat);
    return parts.handleAsync((stored, err) -> { // on blocking: deleteQuietly may be JDBC
      if (err != null) {
        deleteQuietly(key);
        throw err instanceof CompletionException ce ? ce : new CompletionException(err);
      }
      if (stored.isEmpty()) throw new ApiException(StatusCodes.BAD_REQUEST, "missing_file", "the form has no 'file' field");
      DiarizationOptions options;
      try {
        options = options(fields);
      } catch (ApiException e) {
        deleteQuietly(key);
        throw e;
      }
      String title = fields.get("title");
      if (title == null || title.isBlank()) title = titleFrom(stored.get().fileName());
      return create(user, target, title, options, stored.get());
    }, blocking).thenCompose(s -> s);
  }

  /**
   * The title a file name gives: its base name without extension, cut to the longest title allowed;
   * null (the default title) for none, or for "blob", the name a browser's FormData gives a Blob.
   */
  static String titleFrom(String fileName) {
    String base = baseName(fileName);
    if (base == null) return null;
    int dot = base.lastIndexOf('.');
    return MeetingListRepository.clip(dot > 0 ? base.substring(0, dot) : base, MeetingListRepository.TITLE_CHARS);
  }

  /**
   * A form part's file name as the user named the file: browsers and curl send '"', CR and LF in it
   * as %22, %0D and %0A (the HTML standard's form-data encoding, which escapes nothing else).
   */
  static String formFileName(String sent) {
    return sent.replace("%22", "\"").replace("%0D", "\r").replace("%0A", "\n");
  }

  /** A file name without its folders, or null when it names nothing but a browser's Blob ("blob"). */
  static String baseName(String fileName) {
    if (fileName == null || fileName.isBlank()) return null;
    String base = fileName.replaceAll(".*[/\\\\]", "").strip();
    return base.isEmpty() || base.equals("blob") ? null : base;
  }

  /** Parses and checks the speaker-count fields; 400 on anything wrong. */
  static DiarizationOptions options(Map<String, String> f) {
    Integer num = count(f, "numSpeakers");
    Integer min = count(f, "minSpeakers");
    Integer max = count(f, "maxSpeakers");
    String title = f.get("title");
    if (title != null && title.length() > MeetingListRepository.TITLE_CHARS) {
      throw new ApiException(StatusCodes.BAD_REQUEST, "title must have at most " + MeetingListRepository.TITLE_CHARS + " characters");
    }
    DiarizationOptions options = new DiarizationOptions(num, min, max);
    String problem = options.problem();
    if (problem != null) throw new ApiException(StatusCodes.BAD_REQUEST, problem);
    return options;
  }

  private static Integer count(Map<String, String> f, String name) {
    String v = f.get(name);
    if (v == null || v.isBlank()) return null;
    try {
      int n = wholeNumber(v);
      if (n < 1 || n > MAX_SPEAKERS) throw new ApiException(StatusCodes.BAD_REQUEST, name + " must be between 1 and " + MAX_SPEAKERS);
      return n;
    } catch (NumberFormatException e) {
      throw new ApiException(StatusCodes.BAD_REQUEST, name + " must be a whole number, got '" + v + "'");
    }
  }

  /**
   * {@code v} as a whole number written in ASCII digits, as clients send them ({@link
   * Integer#parseInt} alone also takes other scripts' digits, "٣" for 3); one beyond an int is
   * {@link Integer#MAX_VALUE} or {@link Integer#MIN_VALUE}, so that a range check says what is wrong
   * with it (QA: 99999999999999 was "not a whole number").
   *
   * @throws NumberFormatException for anything else
   */
  static int wholeNumber(String v) {
    String s = v.strip();
    if (!s.matches("[+-]?[0-9]+")) throw new NumberFormatException("not a whole number: " + v);
    try {
      return Integer.parseInt(s);
    } catch (NumberFormatException tooLong) {
      return s.startsWith("-") ? Integer.MIN_VALUE : Integer.MAX_VALUE;
    }
  }

  /**
   * Streams {@code bytes} into the blob store under {@code key} on the upload dispatcher (the
   * body is never whole in memory); 400 for an empty body, 413 when the size limit trips.
   */
  CompletionStage<Meeting.Audio> store(String key, Source<ByteString, ?> bytes, String declaredType, String fileName) {
    InputStream in = new ClientBody(bytes.runWith(StreamConverters.asInputStream(settings.uploadStallTimeout()), mat),
        settings.uploadStallTimeout());
    return CompletableFuture.supplyAsync(() -> {
      AudioProbe.HeadCapture head = new AudioProbe.HeadCapture(in);
      try (head) {
        BlobStore.BlobInfo info = blobs.put(key, head);
        if (info.size() == 0) {
          blobs.delete(key);
          throw new ApiException(StatusCodes.BAD_REQUEST, "empty_file", "the uploaded file is empty");
        }
        byte[] h = head.head();
        return new Meeting.Audio(key, info.size(), info.sha256(), AudioProbe.contentType(declaredType, h, fileName),
            fileName, AudioProbe.wavDurationSeconds(h, info.size()));
      } catch (ClientBody.TooSlow e) {
        deleteQuietly(key);
        log.info("upload {} too slow: {}", key, e.getMessage());
        throw new ApiException(StatusCodes.REQUEST_TIMEOUT, "request_timeout", "the upload is too slow: "
            + e.getMessage() + ", less than " + ClientBody.MIN_BYTES_PER_WINDOW / 1024 + " KiB in that time");
      } catch (ClientBody.ReadFailed e) {
        deleteQuietly(key);
        if (e.getCause().getCause() != null) throw new CompletionException(e.getCause().getCause()); // the stream's own failure
        log.info("upload {} stalled: no data for {}", key, settings.uploadStallTimeout());
        throw new ApiException(StatusCodes.REQUEST_TIMEOUT, "request_timeout",
            "the upload stalled: no data arrived for " + settings.uploadStallTimeout().toSeconds() + " s");
      } catch (IOException e) {
        deleteQuietly(key);
        throw new CompletionException(e);
      } catch (RuntimeException | Error e) {
        deleteQuietly(key); // no meeting will read this blob
        throw e;
      }
    }, uploads);
  }

  /**
   * The request body as a stream, telling its read failures (a stalled or cut-off client, a size
   * limit) apart from the blob store's write failures: they surface as {@link ReadFailed}. The
   * adapter of {@code StreamConverters.asInputStream} throws a bare IOException when no data came
   * in time, and one caused by the stream's failure otherwise.
   */
  private static final class ClientBody extends FilterInputStream {
    static final class ReadFailed extends IOException {
      ReadFailed(IOException cause) {
        super(cause);
      }
    }

    /** Fewer bytes than {@link #MIN_BYTES_PER_WINDOW} came in a whole window. */
    static final class TooSlow extends IOException {
      TooSlow(long bytes, Duration window) {
        super(bytes + " bytes in " + window.toSeconds() + " s of waiting for them");
      }
    }

    /**
     * What a client must send per stall timeout of waiting for it to keep its upload slot: 64 KiB a
     * minute is 1 KiB/s, far below any real link. A client that sends a byte now and then never
     * stalls, and a few of them held every upload slot of a node (a security review). Only time spent
     * waiting for the client counts, not the server's own pauses between reads (a slow blob store write).
     */
    static final long MIN_BYTES_PER_WINDOW = 64 * 1024;

    private final Duration window;
    private long waitedNanos;
    private long windowBytes;

    ClientBody(InputStream in, Duration window) {
      super(in);
      this.window = window;
    }

    @Override
    public int read() throws IOException {
      long t0 = System.nanoTime();
      int b;
      try {
        b = super.read();
      } catch (IOException e) {
        throw new ReadFailed(e);
      }
      counted(b >= 0 ? 1 : 0, System.nanoTime() - t0);
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      long t0 = System.nanoTime();
      int n;
      try {
        n = super.read(b, off, len);
      } catch (IOException e) {
        throw new ReadFailed(e);
      }
      counted(Math.max(n, 0), System.nanoTime() - t0);
      return n;
    }

    private void counted(int n, long waited) throws TooSlow {
      windowBytes += n;
      waitedNanos += waited;
      if (waitedNanos >= window.toNanos()) {
        if (windowBytes < MIN_BYTES_PER_WINDOW) throw new TooSlow(windowBytes, window);
        waitedNanos = 0;
        windowBytes = 0;
      }
    }
  }

  private void deleteQuietly(String key) {
    try {
      blobs.delete(key);
    } catch (IOException | RuntimeException e) {
      log.warn("could not remove the blob of a failed upload {}: {}", key, e.toString());
    }
  }

  /**
   * Creates the upload's meeting for its stored {@code audio}. Every way it can go (the entity's
   * answer, or its state after an unanswered ask) becomes a {@link Meeting.Reply} first, so that a
   * refused Create removes the try's audio and a keyed upload whose meeting exists is replayed, in one place.
   */
  private CompletionStage<Uploaded> create(AuthUser user, UploadIds.Target target, String title,
      DiarizationOptions options, Meeting.Audio audio) {
    String id = target.meetingId();
    // the entity refuses the Create once this service has answered the client that it timed out
    Instant answerBy = Instant.now().plus(settings.askTimeout().multipliedBy(4).dividedBy(5));
    return entity(id).<Meeting.Reply>ask(r -> new Meeting.Create(user.id(), title, options, audio, answerBy, r),
            settings.askTimeout())
        .exceptionallyComposeAsync(err -> unansweredCreate(id, err, audio), blocking) // deleteQuietly may be JDBC
        .thenComposeAsync(reply -> uploaded(user, target, audio, reply), blocking)
        .thenApplyAsync(u -> {
          if (!u.replayed()) listed(user, u.state(), audio);
          return u;
        }, blocking);
  }

  /**
   * The Create's reply as the upload's answer. A refused Create's audio is nobody's and goes: a
   * keyed try's blob key is its own, an unkeyed try's id random and new.
   */
  private CompletionStage<Uploaded> uploaded(AuthUser user, UploadIds.Target target, Meeting.Audio audio,
      Meeting.Reply reply) {
    if (reply instanceof Meeting.Accepted a) return CompletableFuture.completedStage(new Uploaded(a.state(), false));
    Meeting.Rejected rejected = (Meeting.Rejected) reply;
    deleteQuietly(audio.key());
    if (target.keyed() && rejected.kind() == Meeting.Rejection.ALREADY_EXISTS) {
      return replay(user, target.meetingId(), audio);
    }
    throw rejection(target.meetingId(), rejected);
  }

  /**
   * An upload whose Idempotency-Key already made meeting {@code id} (an earlier try, perhaps still
   * under way on another node): answered with that meeting when it holds the same bytes of the same
   * user; 422 when the key came with other bytes; 409 when the meeting was deleted since.
   */
  private CompletionStage<Uploaded> replay(AuthUser user, String id, Meeting.Audio audio) {
    return entity(id).<Meeting.State>ask(Meeting.Get::new, settings.askTimeout()).thenApply(s -> {
      if (!s.exists()) {
        throw new ApiException(StatusCodes.CONFLICT, "meeting_deleted", "the meeting this " + UploadIds.IDEMPOTENCY_KEY
            + " made (" + id + ") has been deleted; upload again with a new key");
      }
      if (!sameUpload(s, user, audio)) {
        throw new ApiException(StatusCodes.UNPROCESSABLE_ENTITY, "idempotency_key_reused", "this "
            + UploadIds.IDEMPOTENCY_KEY + " was used for another file (meeting " + id + "); send a new key for a new upload");
      }
      log.info("meeting {}: upload by {} repeated with its idempotency key; answered with the meeting", id, user.id());
      return new Uploaded(s, true);
    });
  }

  /** Whether meeting {@code s} is {@code user}'s upload of the bytes of {@code audio}. */
  static boolean sameUpload(Meeting.State s, AuthUser user, Meeting.Audio audio) {
    return user.id().equals(s.owner()) && s.audio() != null && audio.sha256().equals(s.audio().sha256());
  }

  /** Whether meeting {@code s} was created with the audio under blob {@code key}. */
  static boolean usesBlob(Meeting.State s, String key) {
    return s.audio() != null && key.equals(s.audio().key());
  }

  /**
   * A Create with no answer, as a reply: {@link #afterUnansweredCreate} finds the meeting or leaves
   * the failure standing (and removes the audio once it knows no meeting uses it). A meeting made
   * with other audio is an earlier keyed try's: this Create was refused as ALREADY_EXISTS.
   */
  private CompletionStage<Meeting.Reply> unansweredCreate(String id, Throwable err, Meeting.Audio audio) {
    Supplier<CompletionStage<Meeting.State>> get =
        () -> entity(id).<Meeting.State>ask(Meeting.Get::new, settings.askTimeout());
    return afterUnansweredCreate(id, err, get,
        () -> removeIfOrphaned(id, audio.key(),
            () -> get.get().thenApplyAsync(s -> usesBlob(s, audio.key()), blocking), // so the blocking delete runs there
            () -> deleteQuietly(audio.key()),
            (delay, check) -> system.scheduler().scheduleOnce(delay, check, system.executionContext()),
            settings.askTimeout(), ORPHAN_CHECKS))
        .thenApply(s -> createReply(s, audio.key()));
  }

  /**
   * What a Create with blob {@code key} got, told from the meeting found after it went unanswered:
   * accepted when the meeting uses that blob, refused as ALREADY_EXISTS when another try's made it.
   */
  static Meeting.Reply createReply(Meeting.State s, String key) {
    return usesBlob(s, key) ? new Meeting.Accepted(s)
        : new Meeting.Rejected(Meeting.Rejection.ALREADY_EXISTS, "meeting " + s.meetingId() + " already exists");
  }

  /** The new meeting's list row at once (read-your-writes), and its owner's cached pages dropped. */
  private void listed(AuthUser user, Meeting.State s, Meeting.Audio audio) {
    String id = s.meetingId();
    try {
      list.insertCreated(new MeetingRow(id, s.owner(), s.title(), s.apiStatus(), 0.0,
          s.createdAt().toEpochMilli(), s.createdAt().toEpochMilli(), s.durationSeconds(), audio.size(),
          audio.contentType(), null, null, null));
    } catch (SQLException e) {
      // the projection adds the row from the Created event shortly
      log.warn("meeting {}: list row not written at once ({}); the projection will add it", id, e.getMessage());
    }
    listCache.invalidate(user.id());
    log.info("meeting {}: uploaded by {} ({} bytes, {})", id, user.id(), audio.size(), audio.contentType());
  }

  /**
   * A Create that got no answer in time (a slow journal write, sharding still placing the entity):
   * {@code get} asks the entity, and reaches it after the Create if that arrives at all (both go
   * through this node's shard region in order, and an entity still writing the Create answers when
   * the write is done). When the meeting exists it is the upload's answer after all, so a client is
   * never told to retry an upload that was stored (its retry would make a second meeting); with an
   * Idempotency-Key it may be an earlier try's meeting, which the caller tells by its audio key.
   * Otherwise the Create's {@code failure} stands and {@code orphanCheck} runs: the entity refuses
   * a Create that comes after its deadline, and the check removes the audio nobody owns.
   */
  static CompletionStage<Meeting.State> afterUnansweredCreate(String id, Throwable failure,
      Supplier<CompletionStage<Meeting.State>> get, Runnable orphanCheck) {
    CompletionStage<Meeting.State> state;
    try {
      state = get.get();
    } catch (RuntimeException e) {
      state = CompletableFuture.failedFuture(e);
    }
    return state.handle((s, err) -> {
      if (err == null && s.exists()) {
        log.info("meeting {}: its create timed out but was written; answered with it", id);
        return CompletableFuture.completedStage(s);
      }
      orphanCheck.run();
      return CompletableFuture.<Meeting.State>failedStage(failure);
    }).thenCompose(x -> x);
  }

  /**
   * The blob {@code key} of an upload whose Create got no answer: after {@code delay}, asks
   * {@code usesBlob} whether meeting {@code id} exists with this blob as its audio (a keyed upload's
   * meeting may have been made by another try, with its own) and runs {@code delete} when not. A
   * check that fails is tried again after the delay, {@code attempts} checks in all; after that
   * the blob stays and a warning names it. Completes with whether the blob was removed; never fails.
   */
  static CompletionStage<Boolean> removeIfOrphaned(String id, String key, Supplier<CompletionStage<Boolean>> usesBlob,
      Runnable delete, BiConsumer<Duration, Runnable> later, Duration delay, int attempts) {
    CompletableFuture<Boolean> removed = new CompletableFuture<>();
    checkOrphan(id, key, usesBlob, delete, later, delay, attempts, 1, removed);
    return removed;
  }

  private static void checkOrphan(String id, String key, Supplier<CompletionStage<Boolean>> usesBlob, Runnable delete,
      BiConsumer<Duration, Runnable> later, Duration delay, int attempts, int attempt, CompletableFuture<Boolean> removed) {
    Runnable check = () -> {
      CompletionStage<Boolean> found;
      try {
        found = usesBlob.get();
      } catch (RuntimeException e) {
        found = CompletableFuture.failedFuture(e);
      }
      found.whenComplete((yes, err) -> {
        try {
          if (err == null && !yes) {
            delete.run();
            log.info("meeting {}: not created with upload {} after its create timed out; removed that upload", id, key);
            removed.complete(true);
          } else if (err == null) {
            log.debug("meeting {}: created with upload {} after all; it stays", id, key);
            removed.complete(false);
          } else if (attempt < attempts) {
            checkOrphan(id, key, usesBlob, delete, later, delay, attempts, attempt + 1, removed);
          } else {
            log.warn("meeting {}: could not tell after {} checks whether it exists ({}); blob {} may be orphaned",
                id, attempts, err.toString(), key);
            removed.complete(false);
          }
        } catch (RuntimeException e) {
          log.warn("meeting {}: the check for an orphaned upload failed ({}); blob {} may be orphaned", id, e.toString(), key);
          removed.complete(false);
        }
      });
    };
    try {
      later.accept(delay, check);
    } catch (RuntimeException e) { // the actor system is terminating
      log.warn("meeting {}: no check for an orphaned upload ({}); blob {} may be orphaned", id, e.toString(), key);
      removed.complete(false);
    }
  }

  // ---------------------------------------------------------------- reads and delete

  /** The meeting, when it exists and belongs to {@code user}; 404 otherwise. */
  public CompletionStage<Meeting.State> get(AuthUser user, String id) {
    return getOwned(user.id(), id);
  }

  /** The meeting of a signed audio URL, which only its owner was given; 404 when it is gone. */
  public CompletionStage<Meeting.State> getSigned(String id) {
    return getOwned(null, id);
  }

  /** {@code owner} null: whoever owns it. */
  private CompletionStage<Meeting.State> getOwned(String owner, String id) {
    return access(owner, id, false).thenCompose(ok -> entity(id).<Meeting.State>ask(Meeting.Get::new, settings.askTimeout()))
        .thenApply(s -> {
          if (!s.exists() || (owner != null && !owner.equals(s.owner()))) throw notFound(id);
          return s;
        });
  }

  public CompletionStage<Done> delete(AuthUser user, String id) {
    return access(user.id(), id, false)
        .thenCompose(ok -> command(id, Meeting.Delete::new))
        .thenApplyAsync(deleted -> {
          try {
            list.markDeleted(id, System.currentTimeMillis());
          } catch (SQLException e) {
            log.warn("meeting {}: list row not marked deleted at once ({}); the projection will", id, e.getMessage());
          }
          listCache.invalidate(user.id());
          return Done.getInstance();
        }, blocking);
  }

  /** The meeting's persisted events in order; the owner still sees them after a deletion, which they record. */
  public CompletionStage<List<HistoryEntry>> history(AuthUser user, String id) {
    return access(user.id(), id, true).thenCompose(ok -> journal
        .currentEventsByPersistenceId(PersistenceId.of(Meeting.ENTITY_KEY.name(), id).id(), 0L, Long.MAX_VALUE)
        .map(MeetingService::entry)
        .runWith(Sink.seq(), mat))
        .thenApply(entries -> {
          if (entries.isEmpty()) throw notFound(id);
          return entries;
        });
  }

  private static HistoryEntry entry(EventEnvelope env) {
    Object e = env.event();
    Meeting.Event ev = e instanceof Meeting.Event me ? me : null;
    String type = ev != null ? Meeting.eventName(ev) : e == null ? "unknown" : e.getClass().getSimpleName();
    return new HistoryEntry(env.sequenceNr(), Instant.ofEpochMilli(env.timestamp()), type, ev);
  }

  /** A page of the user's meetings as JSON ({@link MeetingViews.ListPage}), through the list cache. */
  public CompletionStage<byte[]> list(AuthUser user, int limit, Cursor after) {
    return listCache.get(user.id(), limit, after == null ? null : after.encode(), () -> Blocking.supply(
        () -> Json.MAPPER.writeValueAsBytes(MeetingViews.of(list.page(user.id(), limit, after))), blocking));
  }

  /**
   * Completes when {@code id} is a meeting of {@code owner} (null: anyone's) per the list, live unless
   * {@code allowDeleted}; fails with 404.
   */
  private CompletionStage<MeetingListRepository.Ref> access(String owner, String id, boolean allowDeleted) {
    if (!ID.matcher(id).matches()) return CompletableFuture.failedFuture(notFound(id));
    return Blocking.supply(() -> {
      Optional<MeetingListRepository.Ref> ref = list.ref(id);
      if (ref.isEmpty() || (owner != null && !owner.equals(ref.get().ownerId()))
          || (!allowDeleted && MeetingListRepository.DELETED.equals(ref.get().status()))) {
        throw notFound(id);
      }
      return ref.get();
    }, blocking);
  }

  static ApiException notFound(String id) {
    return new ApiException(StatusCodes.NOT_FOUND, "not_found", "no meeting " + id);
  }

  private EntityRef<Meeting.Command> entity(String id) {
    return sharding.entityRefFor(Meeting.ENTITY_KEY, id);
  }

  /** Sends a Delete (or another command answered with a Reply); the meeting's state after it, or the API's error. */
  private CompletionStage<Meeting.State> command(String id,
      org.apache.pekko.japi.function.Function<ActorRef<Meeting.Reply>, Meeting.Command> make) {
    return entity(id).<Meeting.Reply>ask(make, settings.askTimeout()).thenApply(r -> {
      if (r instanceof Meeting.Accepted a) return a.state();
      throw rejection(id, (Meeting.Rejected) r);
    });
  }

  /** The API's error for a refused command of meeting {@code id}. */
  private static ApiException rejection(String id, Meeting.Rejected rejected) {
    return switch (rejected.kind()) {
      case NOT_FOUND -> notFound(id);
      case ALREADY_EXISTS -> new ApiException(StatusCodes.CONFLICT, rejected.message());
      case INVALID -> new ApiException(StatusCodes.BAD_REQUEST, rejected.message());
      case EXPIRED -> new ApiException(StatusCodes.SERVICE_UNAVAILABLE, "unavailable",
          "the service did not answer in time, try again");
    };
  }
}
