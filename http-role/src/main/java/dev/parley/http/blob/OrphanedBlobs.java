package dev.parley.http.blob;

import dev.parley.http.meeting.Meeting;
import dev.parley.http.meeting.list.MeetingListRepository;
import dev.parley.protocol.blob.BlobStore;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
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
 *       creating the meeting, or a create got no answer and the check after it could not tell.
 * </ul>
 * A blob is left alone until it is an hour old (a meeting is created seconds after its audio is
 * stored), and whenever its meeting's fate is unclear: the meeting list has no row yet but the
 * journal has events (the read side is behind), or either could not be asked. The blob key is the
 * meeting id.
 */
public final class OrphanedBlobs {
  private static final Logger log = LoggerFactory.getLogger(OrphanedBlobs.class);
  /** How old a blob must be before its meeting's absence means anything. */
  static final Duration MIN_AGE = Duration.ofHours(1);

  /** What is known of a blob's meeting. */
  enum Fate { LIVE, DELETED, NEVER_CREATED, UNCLEAR }

  /** Where a meeting's fate is read; both block. */
  public interface Meetings {
    /** The meeting list's status of meeting {@code id}, empty when it has no row. */
    Optional<String> listStatus(String id) throws Exception;

    /** Whether the journal holds any event of meeting {@code id}. */
    boolean hasEvents(String id) throws Exception;
  }

  /** How many blobs one sweep removed and kept. */
  record Sweep(int deleted, int neverCreated, int unclear, int failed) {}

  private OrphanedBlobs() {}

  static Fate fate(String id, Meetings meetings) {
    try {
      Optional<String> status = meetings.listStatus(id);
      if (status.isPresent()) return MeetingListRepository.DELETED.equals(status.get()) ? Fate.DELETED : Fate.LIVE;
      return meetings.hasEvents(id) ? Fate.UNCLEAR : Fate.NEVER_CREATED;
    } catch (Exception e) {
      log.debug("blob {}: its meeting could not be looked up ({}); kept", id, e.toString());
      return Fate.UNCLEAR;
    }
  }

  /** One pass over the blobs written before {@code cutoff}; removes those of deleted and never-created meetings. */
  static Sweep sweep(BlobStore blobs, Meetings meetings, Instant cutoff) throws java.io.IOException {
    int deleted = 0, neverCreated = 0, unclear = 0, failed = 0;
    for (String key : blobs.keysWrittenBefore(cutoff)) {
      Fate f = fate(key, meetings);
      if (f == Fate.LIVE) continue;
      if (f == Fate.UNCLEAR) {
        unclear++;
        continue;
      }
      try {
        blobs.delete(key);
        if (f == Fate.DELETED) deleted++;
        else neverCreated++;
      } catch (java.io.IOException | RuntimeException e) {
        failed++;
        log.warn("blob {} of a {} meeting could not be removed: {}", key,
            f == Fate.DELETED ? "deleted" : "never created", e.toString());
      }
    }
    return new Sweep(deleted, neverCreated, unclear, failed);
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
        return !journal.currentEventsByPersistenceId(PersistenceId.of(Meeting.ENTITY_KEY.name(), id).id(), 0L, Long.MAX_VALUE)
            .take(1).runWith(Sink.seq(), system).toCompletableFuture().get(30, TimeUnit.SECONDS).isEmpty();
      }
    };
  }

  /**
   * One sweep over the blobs old enough to judge, and over the uploads that never became blobs
   * ({@link BlobStore#removeAbandonedUploads}), saying what it removed when it removed anything.
   */
  public static void sweep(BlobStore blobs, Meetings meetings) throws java.io.IOException {
    int abandoned = blobs.removeAbandonedUploads();
    if (abandoned > 0) log.info("removed {} uploads cut off before they were stored (a node stopped mid-upload)", abandoned);
    Sweep s = sweep(blobs, meetings, Instant.now().minus(MIN_AGE));
    if (s.deleted() + s.neverCreated() + s.failed() > 0) {
      log.info("orphaned audio: removed {} of deleted meetings and {} of meetings never created; {} could not be"
          + " removed, {} kept while their meeting is unclear", s.deleted(), s.neverCreated(), s.failed(), s.unclear());
    }
  }
}
