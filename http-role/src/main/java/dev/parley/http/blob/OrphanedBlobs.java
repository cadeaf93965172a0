package dev.parley.http.blob;

import dev.parley.http.meeting.Meeting;
import dev.parley.http.meeting.UploadIds;
import dev.parley.http.meeting.list.MeetingListRepository;
import dev.parley.protocol.blob.BlobStore;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.stream.javadsl.Sink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes audio that no meeting will ever read again:
 * <ul>
 *   <li>a deleted meeting's, when the store refused the removal at the time (a disk remounted
 *       read-only), since nothing else retries it;
 *   <li>an upload whose meeting was never created: the node died between storing the audio and
 *       creating the meeting, or a create got no answer and the check after it could not tell;
 *   <li>a repeated upload's (same Idempotency-Key) whose meeting an earlier try made, when its
 *       removal failed at the time: the meeting's journal names other audio, and a meeting's audio
 *       never changes once it is created.
 * </ul>
 * A blob is left alone until it is an hour old (a meeting is created seconds after its audio is
 * stored), and whenever its meeting's fate is unclear: the meeting list has no row yet but the
 * journal has events (the read side is behind), or either could not be asked. The blob key names
 * the meeting ({@link UploadIds#meetingIdOf}): it is the meeting id for an upload without an
 * Idempotency-Key, the id, a dot and a suffix of its own for each try of one with a key.
 */
public final class OrphanedBlobs {
  private static final Logger log = LoggerFactory.getLogger(OrphanedBlobs.class);
  /** How old a blob must be before its meeting's absence means anything. */
  static final Duration MIN_AGE = Duration.ofHours(1);

  /** What is known of a blob's meeting. */
  enum Fate { LIVE, DELETED, NEVER_CREATED, SUPERSEDED, UNCLEAR }

  /** Where a meeting's fate is read; both block. */
  public interface Meetings {
    /** The meeting list's status of meeting {@code id}, empty when it has no row. */
    Optional<String> listStatus(String id) throws Exception;

    /** Whether the journal holds any event of meeting {@code id}. */
    boolean hasEvents(String id) throws Exception;

    /** The blob key of meeting {@code id}'s audio as its journal records it; empty when it records none. */
    Optional<String> audioKey(String id) throws Exception;
  }

  /** How many blobs one sweep removed and kept. */
  record Sweep(int deleted, int neverCreated, int superseded, int unclear, int failed) {}

  private OrphanedBlobs() {}

  /**
   * @param shared whether the sweep saw other blobs of the same meeting: only then can this one be a
   *     repeated try's that the meeting does not use, and only then is the journal read for it (a
   *     meeting's only blob is its audio; a try that left one beside a newer winner is caught at a
   *     later sweep, once both are old enough)
   */
  static Fate fate(String key, boolean shared, Meetings meetings) {
    String id = UploadIds.meetingIdOf(key);
    try {
      Optional<String> status = meetings.listStatus(id);
      if (status.isPresent() && MeetingListRepository.DELETED.equals(status.get())) return Fate.DELETED;
      if (status.isEmpty() && !meetings.hasEvents(id)) return Fate.NEVER_CREATED;
      // the meeting exists; a keyed try's blob beside others is its audio unless the journal names another
      if (shared && meetings.audioKey(id).filter(k -> !k.equals(key)).isPresent()) return Fate.SUPERSEDED;
      return status.isPresent() ? Fate.LIVE : Fate.UNCLEAR;
    } catch (Exception e) {
      log.debug("blob {}: its meeting could not be looked up ({}); kept", key, e.toString());
      return Fate.UNCLEAR;
    }
  }

  /**
   * One pass over the blobs written before {@code cutoff}; removes those of deleted and never-created
   * meetings, and repeated uploads' that their meeting does not use.
   */
  static Sweep sweep(BlobStore blobs, Meetings meetings, Instant cutoff) throws IOException {
    int deleted = 0, neverCreated = 0, superseded = 0, unclear = 0, failed = 0;
    List<String> keys = blobs.keysWrittenBefore(cutoff);
    Map<String, Long> blobsPerMeeting = keys.stream().collect(Collectors.groupingBy(UploadIds::meetingIdOf, Collectors.counting()));
    for (String key : keys) {
      Fate f = fate(key, blobsPerMeeting.get(UploadIds.meetingIdOf(key)) > 1, meetings);
      if (f == Fate.LIVE) continue;
      if (f == Fate.UNCLEAR) {
        unclear++;
        continue;
      }
      try {
        blobs.delete(key);
        switch (f) {
          case DELETED -> deleted++;
          case NEVER_CREATED -> neverCreated++;
          default -> superseded++;
        }
      } catch (IOException | RuntimeException e) {
        failed++;
        log.warn("blob {} ({}) could not be removed: {}", key, why(f), e.toString());
      }
    }
    return new Sweep(deleted, neverCreated, superseded, unclear, failed);
  }

  private static String why(Fate f) {
    return switch (f) {
      case DELETED -> "of a deleted meeting";
      case NEVER_CREATED -> "of a meeting never created";
      default -> "a repeated upload its meeting does not use";
    };
  }

  /** The fates of meetings as the meeting list and the journal tell them. */
  public static Meetings meetings(ActorSystem<?> system, MeetingListRepository list, JdbcReadJournal journal) {
    return new Meetings() {
      @Override
      public Optional<String> listStatus(String id) throws Exception {
        return list.ref(id).map(MeetingListRepository.Ref::status);
      }

      @Override
      public boolean hasEvents(String id) throws Exception {
        return !journal.currentEventsByPersistenceId(persistenceId(id), 0L, Long.MAX_VALUE)
            .take(1).runWith(Sink.seq(), system).toCompletableFuture().get(30, TimeUnit.SECONDS).isEmpty();
      }

      @Override
      public Optional<String> audioKey(String id) throws Exception {
        // the first AudioStored: a Create writes it second, after Created (later, when an erased meeting's
        // key made it again while its entity was still awake)
        return journal.currentEventsByPersistenceId(persistenceId(id), 0L, Long.MAX_VALUE)
            .map(EventEnvelope::event)
            .filter(e -> e instanceof Meeting.AudioStored)
            .map(e -> ((Meeting.AudioStored) e).key())
            .runWith(Sink.headOption(), system).toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
    };
  }

  private static String persistenceId(String meetingId) {
    return PersistenceId.of(Meeting.ENTITY_KEY.name(), meetingId).id();
  }

  /**
   * One sweep over the blobs old enough to judge, and over the uploads that never became blobs
   * ({@link BlobStore#removeAbandonedUploads}), saying what it removed when it removed anything.
   */
  public static void sweep(BlobStore blobs, Meetings meetings) throws IOException {
    int abandoned = blobs.removeAbandonedUploads();
    if (abandoned > 0) log.info("removed {} uploads cut off before they were stored (a node stopped mid-upload)", abandoned);
    Sweep s = sweep(blobs, meetings, Instant.now().minus(MIN_AGE));
    if (s.deleted() + s.neverCreated() + s.superseded() + s.failed() > 0) {
      log.info("orphaned audio: removed {} of deleted meetings, {} of meetings never created and {} of repeated"
          + " uploads; {} could not be removed, {} kept while their meeting is unclear", s.deleted(), s.neverCreated(),
          s.superseded(), s.failed(), s.unclear());
    }
  }
}
