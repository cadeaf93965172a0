package dev.parley.http.meeting.list;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.zaxxer.hikari.HikariDataSource;
import dev.parley.http.db.Database;
import dev.parley.http.db.Schema;
import dev.parley.http.meeting.Meeting;
import dev.parley.http.testutil.Postgres;
import dev.parley.protocol.DiarizationOptions;
import java.time.Instant;
import java.util.List;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Sequence;
import org.junit.jupiter.api.Test;

/** The meeting-list projection's writes, on PostgreSQL. */
class MeetingListRepositoryTest {

  private static EventEnvelope envelope(long offset, String id, long seq, Meeting.Event e) {
    return EventEnvelope.apply(Sequence.apply(offset), "Meeting|" + id, seq, e, Instant.now().toEpochMilli(), scala.Option.empty());
  }

  @Test
  void valuesLongerThanTheirColumnsAreClippedAndDoNotStallTheProjection() throws Exception {
    try (Postgres pg = Postgres.freshSchema(); HikariDataSource ds = Database.create(pg.db)) {
      Schema.migrate(pg.db);
      MeetingListRepository repo = new MeetingListRepository(ds, pg.db);
      // journals may hold such events: titles from file names and declared content types were not cut before
      String title = "t".repeat(3000);
      String type = "audio/wav; note=" + "z".repeat(300);
      String reason = "r".repeat(5000);
      repo.apply("test", List.of(
          envelope(1, "m1", 1, new Meeting.Created("m1", "owner", title, DiarizationOptions.NONE, Instant.now())),
          envelope(2, "m1", 2, new Meeting.AudioStored("m1", 10, "00", type, "f.wav", null)),
          envelope(3, "m1", 3, new Meeting.Failed(1, "a1", "node", reason, false))));
      assertEquals(3, repo.readOffset("test"), "the batch was applied");
      MeetingRow row = repo.find("m1").orElseThrow();
      assertEquals(MeetingListRepository.TITLE_CHARS, row.title().length());
      assertEquals(type.substring(0, MeetingListRepository.CONTENT_TYPE_CHARS), row.contentType());
      assertEquals(MeetingListRepository.ERROR_CHARS, row.error().length());
      assertEquals("failed", row.status());
      assertEquals(Boolean.FALSE, row.errorRetryable());
    }
  }

  /** Review: every test row had its own millisecond, so a cursor that ignored the id would have passed. */
  @Test
  void meetingsCreatedInOneMillisecondArePagedByIdWithoutLossOrRepeat() throws Exception {
    try (Postgres pg = Postgres.freshSchema(); HikariDataSource ds = Database.create(pg.db)) {
      Schema.migrate(pg.db);
      MeetingListRepository repo = new MeetingListRepository(ds, pg.db);
      for (String id : List.of("a", "c", "b", "d")) {
        repo.insertCreated(new MeetingRow(id, "owner", id, "queued", 0, 1000L, 1000L, null, null, null, null, null, null));
      }
      repo.insertCreated(new MeetingRow("z", "owner", "older", "queued", 0, 999L, 999L, null, null, null, null, null, null));
      List<String> seen = new java.util.ArrayList<>();
      Cursor cursor = null;
      for (int pages = 0; pages < 10; pages++) {
        MeetingListRepository.Page page = repo.page("owner", 2, cursor);
        page.items().forEach(r -> seen.add(r.id()));
        if (page.nextCursor() == null) break;
        cursor = Cursor.decode(page.nextCursor());
      }
      assertEquals(List.of("d", "c", "b", "a", "z"), seen);
    }
  }

  /** The list keeps a failure's retryable flag, as the meeting view has it; a Queued clears it with the reason. */
  @Test
  void aFailureKeepsItsRetryableFlag() throws Exception {
    try (Postgres pg = Postgres.freshSchema(); HikariDataSource ds = Database.create(pg.db)) {
      Schema.migrate(pg.db);
      MeetingListRepository repo = new MeetingListRepository(ds, pg.db);
      repo.apply("test", List.of(
          envelope(1, "m1", 1, new Meeting.Created("m1", "owner", "t", DiarizationOptions.NONE, Instant.now())),
          envelope(2, "m1", 2, new Meeting.Failed(5, "a5", "node", "timed out (gave up after 5 attempts)", true))));
      MeetingRow failed = repo.find("m1").orElseThrow();
      assertEquals(Boolean.TRUE, failed.errorRetryable());
      assertEquals("timed out (gave up after 5 attempts)", failed.error());
      assertEquals(new dev.parley.http.meeting.MeetingViews.ErrorView(failed.error(), true),
          dev.parley.http.meeting.MeetingViews.of(new MeetingListRepository.Page(List.of(failed), null)).items().get(0).error());

      repo.apply("test", List.of(envelope(3, "m1", 3, new Meeting.Queued(6, "a6", "again"))));
      MeetingRow queued = repo.find("m1").orElseThrow();
      assertNull(queued.error());
      assertNull(queued.errorRetryable());
      assertNull(dev.parley.http.meeting.MeetingViews.of(new MeetingListRepository.Page(List.of(queued), null)).items().get(0).error());
      assertTrue(repo.page("owner", 10, null).items().contains(queued));
    }
  }

  @Test
  void clipNeverSplitsASurrogatePair() {
    assertEquals("abc", MeetingListRepository.clip("abc", 5));
    assertNull(MeetingListRepository.clip(null, 5));
    assertEquals("ab", MeetingListRepository.clip("abcdef", 2));
    assertEquals("a", MeetingListRepository.clip("a😀b", 2), "the emoji's two chars stay together or go together");
    assertEquals("a😀", MeetingListRepository.clip("a😀b", 3));
  }
}
