package dev.parley.http.meeting.list;

import dev.parley.http.meeting.Meeting;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Erases deleted meetings for good once {@code parley.meeting.erase-deleted-after} has passed since
 * their deletion: their journal events (title, file name, segments, the speakers' voiceprints; their
 * tags go with them) and their list row. Until then a deleted meeting's history shows its deletion.
 * A meeting is erased only once the list has applied its last event (its {@code last_seq} reaches
 * the journal's), so the read side never meets half of a meeting. Every http node sweeps; the
 * statements are idempotent. (Pekko's journal tables are named in quotes: H2 keeps them lower case.)
 */
public final class DeletedMeetings {
  private static final Logger log = LoggerFactory.getLogger(DeletedMeetings.class);
  /** Meetings one sweep erases at most (the next sweep takes the rest). */
  static final int BATCH = 500;

  private DeletedMeetings() {}

  /** Erases the meetings deleted before {@code cutoff}; returns how many. */
  public static int erase(DataSource ds, Instant cutoff) throws SQLException {
    List<String> ids = new ArrayList<>();
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement(
            "SELECT id FROM meeting_list WHERE status = ? AND updated_at < ? ORDER BY updated_at LIMIT " + BATCH)) {
      ps.setString(1, MeetingListRepository.DELETED);
      ps.setLong(2, cutoff.toEpochMilli());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) ids.add(rs.getString(1));
      }
    }
    int erased = 0;
    for (String id : ids) {
      if (eraseOne(ds, id)) erased++;
    }
    return erased;
  }

  private static boolean eraseOne(DataSource ds, String id) throws SQLException {
    String pid = PersistenceId.of(Meeting.ENTITY_KEY.name(), id).id();
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      try {
        long journaled;
        try (PreparedStatement ps = c.prepareStatement(
            "SELECT COALESCE(MAX(\"sequence_number\"), 0) FROM \"event_journal\" WHERE \"persistence_id\" = ?")) {
          ps.setString(1, pid);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            journaled = rs.getLong(1);
          }
        }
        // the row's own events, all applied: the read side is done with this meeting
        int listed;
        try (PreparedStatement ps = c.prepareStatement(
            "DELETE FROM meeting_list WHERE id = ? AND status = ? AND last_seq >= ?")) {
          ps.setString(1, id);
          ps.setString(2, MeetingListRepository.DELETED);
          ps.setLong(3, journaled);
          listed = ps.executeUpdate();
        }
        if (listed == 0) {
          c.rollback();
          return false;
        }
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM \"event_journal\" WHERE \"persistence_id\" = ?")) {
          ps.setString(1, pid);
          ps.executeUpdate();
        }
        c.commit();
        return true;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      } finally {
        c.setAutoCommit(true);
      }
    }
  }

  /** One sweep: erases the meetings deleted more than {@code after} ago, and says how many when there were any. */
  public static void sweep(DataSource ds, Duration after) throws SQLException {
    int n = erase(ds, Instant.now().minus(after));
    if (n > 0) log.info("erased {} meetings deleted more than {} ago", n, after);
  }
}
