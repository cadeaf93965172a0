package dev.parley.http.meeting.list;

import dev.parley.http.db.DbSettings;
import dev.parley.http.meeting.Meeting;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Sequence;
import org.apache.pekko.persistence.typed.PersistenceId;

/**
 * The {@code meeting_list} read side and its projection offset. All calls block (JDBC): run them on
 * the http role's blocking dispatcher.
 *
 * <p>Rows are written by the projection from Meeting events ({@link #apply}, idempotent: a row
 * remembers the sequence number of the last event applied and ignores older ones) and, for
 * read-your-writes, by the upload route right after a meeting is created ({@link #insertCreated})
 * and deleted ({@link #markDeleted}). Deleted meetings stay as tombstones.
 */
public final class MeetingListRepository {
  public static final String PROJECTION = "meeting-list";

  /** The {@code status} of a tombstone row (the other values are {@link Meeting#apiStatus}'s). */
  public static final String DELETED = Meeting.Status.DELETED.api();

  private static final String QUEUED = Meeting.Status.QUEUED.api();
  private static final String PROCESSING = Meeting.Status.PROCESSING.api();

  /** The sizes of {@code meeting_list}'s text columns (parley-002-meeting-list.sql in config/schema). */
  public static final int TITLE_CHARS = 500;
  public static final int CONTENT_TYPE_CHARS = 255;
  static final int ERROR_CHARS = 2000;

  /** Who owns a meeting and its list status (for access checks). */
  public record Ref(String ownerId, String status) {}

  /** One page of a user's meetings, newest first; {@code nextCursor} is null on the last page. */
  public record Page(List<MeetingRow> items, String nextCursor) {}

  private static final String COLUMNS =
      "id, owner_id, title, status, progress, created_at, updated_at, duration_seconds, size_bytes, content_type, speakers, error, error_retryable";

  private final DataSource ds;
  private final boolean postgres;

  public MeetingListRepository(DataSource ds, DbSettings db) {
    this.ds = ds;
    this.postgres = db.isPostgres();
  }

  // ---------------------------------------------------------------- queries

  public Optional<Ref> ref(String id) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT owner_id, status FROM meeting_list WHERE id = ?")) {
      ps.setString(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(new Ref(rs.getString(1), rs.getString(2))) : Optional.empty();
      }
    }
  }

  /** One row by meeting id; for tests (the API reads rows through {@link #page} and {@link #ref}). */
  Optional<MeetingRow> find(String id) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM meeting_list WHERE id = ?")) {
      ps.setString(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(row(rs)) : Optional.empty();
      }
    }
  }

  /** The owner's meetings after {@code after} (null = from the newest), at most {@code limit}. */
  public Page page(String ownerId, int limit, Cursor after) throws SQLException {
    String sql = "SELECT " + COLUMNS + " FROM meeting_list WHERE owner_id = ? AND status <> '" + DELETED + "'"
        + (after == null ? "" : " AND (created_at, id) < (?, ?)")
        + " ORDER BY created_at DESC, id DESC LIMIT ?";
    List<MeetingRow> rows = new ArrayList<>(limit + 1);
    try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
      int i = 1;
      ps.setString(i++, ownerId);
      if (after != null) {
        ps.setLong(i++, after.createdAt());
        ps.setString(i++, after.id());
      }
      ps.setInt(i, limit + 1);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) rows.add(row(rs));
      }
    }
    String next = null;
    if (rows.size() > limit) {
      rows.remove(rows.size() - 1);
      MeetingRow last = rows.get(rows.size() - 1);
      next = new Cursor(last.createdAt(), last.id()).encode();
    }
    return new Page(rows, next);
  }

  /** How many meetings wait for a gpu worker and how many are being processed. */
  public record ActiveCounts(long queued, long processing) {}

  /** Meetings waiting for a gpu worker and meetings being processed, over all users. */
  public ActiveCounts activeCounts() throws SQLException {
    long queued = 0;
    long processing = 0;
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement(
            "SELECT status, COUNT(*) FROM meeting_list WHERE status IN (?, ?) GROUP BY status")) {
      ps.setString(1, QUEUED);
      ps.setString(2, PROCESSING);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          if (QUEUED.equals(rs.getString(1))) queued = rs.getLong(2);
          else processing = rs.getLong(2);
        }
      }
    }
    return new ActiveCounts(queued, processing);
  }

  private static MeetingRow row(ResultSet rs) throws SQLException {
    return new MeetingRow(
        rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getDouble(5), rs.getLong(6),
        rs.getLong(7), (Double) rs.getObject(8, Double.class), (Long) rs.getObject(9, Long.class), rs.getString(10),
        (Integer) rs.getObject(11, Integer.class), rs.getString(12), (Boolean) rs.getObject(13, Boolean.class));
  }

  // ---------------------------------------------------------------- writes from routes

  /** The row of a just-created meeting, so it is listed at once; a no-op if the projection was first. */
  public void insertCreated(MeetingRow r) throws SQLException {
    try (Connection c = ds.getConnection()) {
      insertIgnore(c, r, 0L);
    }
  }

  /** Hides a deleted meeting at once (the projection's Deleted event does the same later). */
  public void markDeleted(String id, long at) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement("UPDATE meeting_list SET status = ?, updated_at = ? WHERE id = ?")) {
      ps.setString(1, DELETED);
      ps.setLong(2, at);
      ps.setString(3, id);
      ps.executeUpdate();
    }
  }

  // ---------------------------------------------------------------- projection

  /** Ordering of the last journal event applied by {@code projection} (0 = none). */
  public long readOffset(String projection) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement(
            "SELECT current_offset FROM projection_offset WHERE projection_name = ?")) {
      ps.setString(1, projection);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0L;
      }
    }
  }

  /** Applies a batch of Meeting events and stores the new offset in the same transaction. */
  public void apply(String projection, List<EventEnvelope> batch) throws SQLException {
    if (batch.isEmpty()) return;
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      try {
        long offset = -1;
        for (EventEnvelope env : batch) {
          if (env.event() instanceof Meeting.Event e) {
            applyEvent(c, PersistenceId.extractEntityId(env.persistenceId()), env.sequenceNr(), env.timestamp(), e);
          }
          if (env.offset() instanceof Sequence s) offset = Math.max(offset, s.value());
        }
        if (offset >= 0) storeOffset(c, projection, offset);
        c.commit();
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      } finally {
        c.setAutoCommit(true);
      }
    }
  }

  /**
   * Forgets the projection's rows and offset: the next projection run rebuilds them from the
   * journal. A maintenance and test hook: nothing in the running node calls it.
   */
  public void reset(String projection) throws SQLException {
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      try (PreparedStatement del = c.prepareStatement("DELETE FROM meeting_list");
          PreparedStatement off = c.prepareStatement("DELETE FROM projection_offset WHERE projection_name = ?")) {
        del.executeUpdate();
        off.setString(1, projection);
        off.executeUpdate();
        c.commit();
      } catch (SQLException e) {
        c.rollback();
        throw e;
      } finally {
        c.setAutoCommit(true);
      }
    }
  }

  private void storeOffset(Connection c, String projection, long offset) throws SQLException {
    long now = System.currentTimeMillis();
    try (PreparedStatement up = c.prepareStatement(
        "UPDATE projection_offset SET current_offset = ?, updated_at = ? WHERE projection_name = ?")) {
      up.setLong(1, offset);
      up.setLong(2, now);
      up.setString(3, projection);
      if (up.executeUpdate() > 0) return;
    }
    try (PreparedStatement ins = c.prepareStatement(
        "INSERT INTO projection_offset (projection_name, current_offset, updated_at) VALUES (?, ?, ?)")) {
      ins.setString(1, projection);
      ins.setLong(2, offset);
      ins.setLong(3, now);
      ins.executeUpdate();
    }
  }

  private void applyEvent(Connection c, String id, long seq, long ts, Meeting.Event e) throws SQLException {
    if (e instanceof Meeting.Created cr) {
      long created = cr.createdAt().toEpochMilli();
      insertIgnore(c, new MeetingRow(id, cr.owner(), cr.title(), QUEUED, 0.0, created, ts, null, null, null, null,
          null, null), seq);
      update(c, id, seq, ts, "owner_id = ?, title = ?, created_at = ?", cr.owner(), clip(cr.title(), TITLE_CHARS), created);
    } else if (e instanceof Meeting.AudioStored a) {
      update(c, id, seq, ts, "size_bytes = ?, content_type = ?, duration_seconds = ?", a.size(),
          orNull(clip(a.contentType(), CONTENT_TYPE_CHARS), Types.VARCHAR), orNull(a.durationSeconds(), Types.DOUBLE));
    } else if (e instanceof Meeting.Queued) {
      update(c, id, seq, ts, "status = ?, progress = ?, error = ?, error_retryable = ?", QUEUED, 0.0,
          new TypedNull(Types.VARCHAR), new TypedNull(Types.BOOLEAN));
    } else if (e instanceof Meeting.Dispatched) {
      // the stage is unchanged (none after Queued; the running job's when it only moved to another
      // node), so is Meeting.apiStatus: the status stays
      update(c, id, seq, ts, "status = status");
    } else if (e instanceof Meeting.Progress p) {
      String status = Meeting.apiStatus(Meeting.Status.PROCESSING, p.stage());
      update(c, id, seq, ts, "status = ?, progress = ?", status, p.fraction());
    } else if (e instanceof Meeting.Completed d) {
      Double audio = d.result().timing() == null ? null : d.result().timing().audioSeconds();
      update(c, id, seq, ts, "status = ?, progress = ?, speakers = ?, duration_seconds = COALESCE(duration_seconds, ?)",
          Meeting.Status.DONE.api(), 1.0, d.result().speakers().size(), orNull(audio, Types.DOUBLE));
    } else if (e instanceof Meeting.Failed f) {
      update(c, id, seq, ts, "status = ?, error = ?, error_retryable = ?", Meeting.Status.FAILED.api(),
          orNull(clip(f.reason(), ERROR_CHARS), Types.VARCHAR), f.retryable());
    } else if (e instanceof Meeting.Deleted) {
      // also when the route already hid the row: the tombstone records the event's sequence number
      updateRow(c, id, seq, ts, false, "status = ?", DELETED);
    }
  }

  /** {@code SET <set>, updated_at, last_seq} on a live row whose last applied event is older. */
  private static void update(Connection c, String id, long seq, long ts, String set, Object... values)
      throws SQLException {
    updateRow(c, id, seq, ts, true, set, values);
  }

  private static void updateRow(Connection c, String id, long seq, long ts, boolean liveOnly, String set,
      Object... values) throws SQLException {
    String sql = "UPDATE meeting_list SET " + set + ", updated_at = ?, last_seq = ? WHERE id = ? AND last_seq < ?"
        + (liveOnly ? " AND status <> '" + DELETED + "'" : "");
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      int i = 1;
      for (Object v : values) bind(ps, i++, v);
      ps.setLong(i++, ts);
      ps.setLong(i++, seq);
      ps.setString(i++, id);
      ps.setLong(i, seq);
      ps.executeUpdate();
    }
  }

  /** A SQL NULL of a given type (PostgreSQL will not cast an untyped NULL parameter to any column). */
  private record TypedNull(int type) {}

  private static Object orNull(Object v, int type) {
    return v == null ? new TypedNull(type) : v;
  }

  private static void bind(PreparedStatement ps, int i, Object v) throws SQLException {
    if (v == null) throw new IllegalArgumentException("use orNull for nullable columns");
    else if (v instanceof TypedNull n) ps.setNull(i, n.type());
    else if (v instanceof String s) ps.setString(i, s);
    else if (v instanceof Double d) ps.setDouble(i, d);
    else if (v instanceof Long l) ps.setLong(i, l);
    else if (v instanceof Integer n) ps.setInt(i, n);
    else if (v instanceof Boolean b) ps.setBoolean(i, b);
    else throw new IllegalArgumentException("unsupported column value " + v.getClass());
  }

  private void insertIgnore(Connection c, MeetingRow r, long seq) throws SQLException {
    String sql = "INSERT INTO meeting_list (" + COLUMNS + ", last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        + (postgres ? " ON CONFLICT (id) DO NOTHING" : "");
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, r.id());
      ps.setString(2, r.ownerId());
      ps.setString(3, clip(r.title(), TITLE_CHARS));
      ps.setString(4, r.status());
      ps.setDouble(5, r.progress());
      ps.setLong(6, r.createdAt());
      ps.setLong(7, r.updatedAt());
      bindNullable(ps, 8, r.durationSeconds(), Types.DOUBLE);
      bindNullable(ps, 9, r.sizeBytes(), Types.BIGINT);
      ps.setString(10, clip(r.contentType(), CONTENT_TYPE_CHARS));
      bindNullable(ps, 11, r.speakers(), Types.INTEGER);
      ps.setString(12, clip(r.error(), ERROR_CHARS));
      bindNullable(ps, 13, r.errorRetryable(), Types.BOOLEAN);
      ps.setLong(14, seq);
      ps.executeUpdate();
    } catch (SQLException e) {
      // H2 has no ON CONFLICT; its failed statement does not abort the transaction
      if (!postgres && "23505".equals(e.getSQLState())) return;
      throw e;
    }
  }

  private static void bindNullable(PreparedStatement ps, int i, Object v, int type) throws SQLException {
    if (v == null) ps.setNull(i, type);
    else ps.setObject(i, v, type);
  }

  /**
   * {@code s} cut to the {@code max} characters its column holds (never through a surrogate pair):
   * the events keep what the client sent, and a value too long for the read side must not stop
   * the projection, which would then retry the same event for ever.
   */
  public static String clip(String s, int max) {
    if (s == null || s.length() <= max) return s;
    return s.substring(0, Character.isHighSurrogate(s.charAt(max - 1)) ? max - 1 : max);
  }
}
