package dev.parley.http.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import com.zaxxer.hikari.HikariDataSource;
import dev.parley.http.testutil.Postgres;
import dev.parley.http.testutil.TestNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The migration creates every table on PostgreSQL and H2 and can run again (and concurrently). */
class SchemaTest {
  static final Set<String> TABLES = Set.of("event_journal", "event_tag", "snapshot", "durable_state", "users",
      "meeting_list", "projection_offset", "blob_object", "blob_chunk");

  static Set<String> tables(Connection c, String schema) throws SQLException {
    Set<String> names = new TreeSet<>();
    try (ResultSet rs = c.getMetaData().getTables(null, schema, "%", new String[] {"TABLE"})) {
      while (rs.next()) names.add(rs.getString("TABLE_NAME").toLowerCase(Locale.ROOT));
    }
    return names;
  }

  @Test
  void postgresMigrationIsIdempotentAndStaysInItsSchema() throws Exception {
    try (Postgres pg = Postgres.freshSchema(); HikariDataSource ds = Database.create(pg.db)) {
      Schema.migrate(pg.db);
      Schema.migrate(pg.db);
      // two nodes starting at once
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        List<Future<?>> both = List.of(pool.submit(() -> Schema.migrate(pg.db)), pool.submit(() -> Schema.migrate(pg.db)));
        for (Future<?> f : both) f.get();
      } finally {
        pool.shutdown();
      }
      try (Connection c = ds.getConnection()) {
        assertTrue(tables(c, pg.schema).containsAll(TABLES), tables(c, pg.schema).toString());
        // the split-brain resolver's lease lives only in PostgreSQL
        assertTrue(tables(c, pg.schema).contains("cluster_lease"), tables(c, pg.schema).toString());
        try (ResultSet rs = c.createStatement().executeQuery(
            "SELECT indexname FROM pg_indexes WHERE schemaname = '" + pg.schema + "'")) {
          Set<String> idx = new TreeSet<>();
          while (rs.next()) idx.add(rs.getString(1));
          assertTrue(idx.containsAll(Set.of("event_journal_ordering_idx", "meeting_list_owner_created_idx", "users_email_idx")),
              idx.toString());
        }
      }
    }
  }

  /**
   * The first start on a database from before Flyway, while a long transaction reads the tables
   * later migrations altered (a pg_dump), must not wait for it: every migration runs again, and each
   * ALTER runs only when its column is missing. (Later starts run no DDL at all.)
   */
  @Test
  void aRestartDoesNotWaitForALongReaderOfTheAlteredTables() throws Exception {
    try (Postgres pg = Postgres.freshSchema(); HikariDataSource ds = Database.create(pg.db)) {
      Schema.migrate(pg.db);
      // a database from before Flyway: its first start with Flyway runs every migration again
      try (Connection c = ds.getConnection()) {
        c.createStatement().execute("DROP TABLE flyway_schema_history");
      }
      try (Connection reader = ds.getConnection()) {
        reader.setAutoCommit(false);
        for (String table : List.of("blob_chunk", "users", "meeting_list")) { // parley-003, -005, -006
          reader.createStatement().executeQuery("SELECT count(*) FROM " + table).close();
        }
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
          // before: the start's ALTER TABLE queued behind the reader for as long as it lasted
          pool.submit(() -> Schema.migrate(pg.db)).get(Schema.PG_LOCK_TIMEOUT_MS - 2_000, TimeUnit.MILLISECONDS);
        } finally {
          pool.shutdownNow();
          reader.rollback();
        }
      }
      try (Connection c = ds.getConnection();
          ResultSet rs = c.createStatement().executeQuery(
              "SELECT attstorage FROM pg_attribute WHERE attrelid = 'blob_chunk'::regclass AND attname = 'data'")) {
        assertTrue(rs.next());
        assertEquals("e", rs.getString(1), "chunks stored out of line, uncompressed");
      }
    }
  }

  /**
   * Rows the projection wrote before {@code error_retryable} existed get it from their reason: a
   * retryable failure's ends "(gave up after N attempts)"; rows that are not failed stay null.
   */
  static void checkRetryableBackfill(HikariDataSource ds, Runnable migrate) throws SQLException {
    try (Connection c = ds.getConnection()) {
      // a database as the release before parley-006 (and before Flyway) left it
      c.createStatement().execute("ALTER TABLE meeting_list DROP COLUMN error_retryable");
      c.createStatement().execute("DROP TABLE \"flyway_schema_history\"");
      c.createStatement().execute("INSERT INTO meeting_list (id, owner_id, title, status, created_at, updated_at, error)"
          + " VALUES ('gave-up', 'o', 't', 'failed', 1, 1, 'node left (gave up after 5 attempts)'),"
          + " ('bad-input', 'o', 't', 'failed', 1, 1, 'not decodable audio'),"
          + " ('no-reason', 'o', 't', 'failed', 1, 1, NULL),"
          + " ('done', 'o', 't', 'done', 1, 1, NULL)");
    }
    migrate.run();
    migrate.run();
    Map<String, Object> flags = new TreeMap<>();
    try (Connection c = ds.getConnection();
        ResultSet rs = c.createStatement().executeQuery("SELECT id, error_retryable FROM meeting_list")) {
      while (rs.next()) flags.put(rs.getString(1), rs.getObject(2));
    }
    Map<String, Object> expected = new TreeMap<>();
    expected.put("gave-up", true);
    expected.put("bad-input", false);
    expected.put("no-reason", false);
    expected.put("done", null);
    assertEquals(expected, flags);
  }

  @Test
  void postgresBackfillsTheListsRetryableFlag() throws Exception {
    try (Postgres pg = Postgres.freshSchema(); HikariDataSource ds = Database.create(pg.db)) {
      Schema.migrate(pg.db);
      checkRetryableBackfill(ds, () -> Schema.migrate(pg.db));
    }
  }

  @Test
  void h2BackfillsTheListsRetryableFlag(@TempDir Path dir) throws Exception {
    DbSettings db = TestNode.embeddedH2(dir);
    try (HikariDataSource ds = Database.create(db)) {
      Schema.migrate(db);
      checkRetryableBackfill(ds, () -> Schema.migrate(db));
    }
  }

  /**
   * A lock that does not come (another node's migration hung, the history table held by a long
   * transaction) fails the try (the node retries, then exits) instead of hanging the start.
   */
  @Test
  void aLockThatDoesNotComeFailsTheTry() throws Exception {
    try (Postgres pg = Postgres.freshSchema(); HikariDataSource ds = Database.create(pg.db);
        Connection holder = ds.getConnection()) {
      Schema.migrate(pg.db);
      holder.setAutoCommit(false);
      holder.createStatement().execute("LOCK TABLE flyway_schema_history IN ACCESS EXCLUSIVE MODE");
      long start = System.nanoTime();
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> Schema.migrate(pg.db));
      assertTrue(e.getMessage().contains("lock timeout"), e.getMessage());
      assertTrue(System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(Schema.PG_LOCK_TIMEOUT_MS * 3), "gave up");
      holder.rollback();
      // the migration's lock timeout stayed on its own connections, not on the pool's
      for (int i = 0; i < 10; i++) {
        try (Connection c = ds.getConnection(); ResultSet rs = c.createStatement().executeQuery("SHOW lock_timeout")) {
          assertTrue(rs.next());
          assertEquals("0", rs.getString(1));
        }
      }
      Schema.migrate(pg.db);
    }
  }

  /** Flyway's history: Pekko's tables, then every parley-NNN file in order, each applied once. */
  static void historyHasEveryMigrationOnce(Connection c, boolean baselined) throws SQLException {
    List<String> versions = new ArrayList<>();
    try (ResultSet rs = c.createStatement().executeQuery(
        "SELECT \"version\", \"success\", \"type\" FROM \"flyway_schema_history\" ORDER BY \"installed_rank\"")) {
      while (rs.next()) {
        assertTrue(rs.getBoolean(2), "failed migration " + rs.getString(1));
        if (!rs.getString(3).equals("TABLE")) versions.add(rs.getString(1)); // H2 also records the table's creation
      }
    }
    List<String> expected = new ArrayList<>(List.of("000.1", "001", "002", "003", "004", "005", "006", "007"));
    if (baselined) expected.add(0, "0");
    assertEquals(expected, versions);
  }

  @Test
  void postgresRecordsEachMigrationOnce() throws Exception {
    try (Postgres pg = Postgres.freshSchema(); HikariDataSource ds = Database.create(pg.db)) {
      Schema.migrate(pg.db);
      Schema.migrate(pg.db);
      try (Connection c = ds.getConnection()) {
        historyHasEveryMigrationOnce(c, false);
      }
    }
  }

  @Test
  void h2MigrationIsIdempotent(@TempDir Path dir) throws Exception {
    DbSettings db = TestNode.embeddedH2(dir);
    assertFalse(db.isPostgres());
    assertTrue(db.url().startsWith("jdbc:h2:file:" + dir.toAbsolutePath()), db.url());
    try (HikariDataSource ds = Database.create(db)) {
      Schema.migrate(db);
      Schema.migrate(db);
      try (Connection c = ds.getConnection()) {
        assertTrue(tables(c, "PUBLIC").containsAll(TABLES), tables(c, "PUBLIC").toString());
        assertFalse(tables(c, "PUBLIC").contains("cluster_lease"), "H2 keeps keep-majority and has no lease table");
        historyHasEveryMigrationOnce(c, false);
      }
    }
  }

  /**
   * Migration 005 on a database from before it: the users table gains token_generation, 0 for the
   * accounts already there (their tokens, which carry no generation, keep working), and for new rows.
   */
  static void tokenGenerationIsAddedToExistingUsers(HikariDataSource ds, DbSettings db) throws Exception {
    try (Connection c = ds.getConnection()) {
      for (String sql : statements(resource("schema/" + db.dialect() + "/parley-001-users.sql"))) {
        c.createStatement().execute(sql);
      }
      c.createStatement().execute("INSERT INTO users (id, email, password_hash, created_at) VALUES ('old', 'old@example.com', 'h', 1)");
      assertFalse(columns(c, "users").contains("token_generation"), "the table as 001 left it");
    }
    Schema.migrate(db);
    Schema.migrate(db);
    try (Connection c = ds.getConnection()) {
      historyHasEveryMigrationOnce(c, true); // a database from before Flyway: baselined, then everything once more
      assertTrue(columns(c, "users").contains("token_generation"), columns(c, "users").toString());
      c.createStatement().execute("INSERT INTO users (id, email, password_hash, created_at) VALUES ('new', 'new@example.com', 'h', 2)");
      try (ResultSet rs = c.createStatement().executeQuery("SELECT id, token_generation FROM users ORDER BY id")) {
        assertTrue(rs.next());
        assertEquals("new", rs.getString(1));
        assertEquals(0, rs.getLong(2));
        assertFalse(rs.wasNull());
        assertTrue(rs.next());
        assertEquals("old", rs.getString(1));
        assertEquals(0, rs.getLong(2));
        assertFalse(rs.wasNull());
      }
      assertThrows(SQLException.class, () -> c.createStatement().execute("UPDATE users SET token_generation = NULL"), "NOT NULL");
    }
  }

  static Set<String> columns(Connection c, String table) throws SQLException {
    Set<String> names = new TreeSet<>();
    String schema = c.getSchema();
    for (String t : List.of(table, table.toUpperCase(Locale.ROOT))) {
      try (ResultSet rs = c.getMetaData().getColumns(null, schema, t, "%")) {
        while (rs.next()) names.add(rs.getString("COLUMN_NAME").toLowerCase(Locale.ROOT));
      }
    }
    return names;
  }

  @Test
  void postgresAddsTheTokenGenerationToAnOlderDatabase() throws Exception {
    try (Postgres pg = Postgres.freshSchema(); HikariDataSource ds = Database.create(pg.db)) {
      tokenGenerationIsAddedToExistingUsers(ds, pg.db);
    }
  }

  @Test
  void h2AddsTheTokenGenerationToAnOlderDatabase(@TempDir Path dir) throws Exception {
    DbSettings db = TestNode.embeddedH2(dir);
    try (HikariDataSource ds = Database.create(db)) {
      tokenGenerationIsAddedToExistingUsers(ds, db);
    }
  }

  /**
   * Migration 0.1 is Pekko Persistence JDBC's table definitions frozen as the jar has them, made
   * idempotent and schema-neutral. When a Pekko upgrade changes them, this fails: the change needs a
   * new migration (0.1 itself is never edited, or every database's checksum stops matching).
   */
  @Test
  void theFrozenPekkoTablesAreTheJarsOwn() {
    for (String dialect : List.of("postgres", "h2")) {
      String jar = resource("schema/" + dialect + "/" + dialect + "-create-schema.sql");
      String frozen = resource("schema/" + dialect + "/parley-000.1-pekko-journal.sql");
      String withoutHeader = frozen.lines().dropWhile(l -> l.startsWith("--")).collect(Collectors.joining("\n"));
      assertEquals(idempotent(jar).strip(), withoutHeader.strip(), dialect + ": Pekko's table definitions changed");
    }
    String fixed = resource("schema/postgres/parley-000.1-pekko-journal.sql").lines().dropWhile(l -> l.startsWith("--"))
        .collect(Collectors.joining("\n"));
    assertTrue(fixed.contains("CREATE UNIQUE INDEX IF NOT EXISTS event_journal_ordering_idx ON event_journal"), fixed);
    assertFalse(fixed.toLowerCase().contains("public."), fixed);
    assertFalse(fixed.contains("CONCURRENTLY"), fixed);
    assertEquals(7, statements(fixed).size()); // 5 tables, 2 indexes
  }

  /** A database migrated by an edited release, or after a failed migration, stops the start at once: retrying cannot help. */
  @Test
  void aChangedMigrationNeedsRepairNotRetries() throws Exception {
    try (Postgres pg = Postgres.freshSchema(); HikariDataSource ds = Database.create(pg.db)) {
      Schema.migrate(pg.db);
      try (Connection c = ds.getConnection()) {
        c.createStatement().execute("UPDATE flyway_schema_history SET checksum = checksum + 1 WHERE version = '001'");
      }
      Schema.NeedsRepair e = assertThrows(Schema.NeedsRepair.class, () -> Schema.migrate(pg.db));
      assertTrue(e.getMessage().contains("checksum mismatch"), e.getMessage());
    }
  }

  /** A currentSchema that does not exist (a typo) stops the start; it is not created empty. */
  @Test
  void aMissingSchemaIsNotCreated() throws Exception {
    try (Postgres pg = Postgres.freshSchema()) {
      String typo = pg.schema + "_typo";
      DbSettings db = new DbSettings(pg.db.url().replace(pg.schema, typo), pg.db.user(), pg.db.password(), 2);
      assertThrows(IllegalStateException.class, () -> Schema.migrate(db));
      try (HikariDataSource ds = Database.create(pg.db); Connection c = ds.getConnection();
          ResultSet rs = c.createStatement().executeQuery(
              "SELECT count(*) FROM information_schema.schemata WHERE schema_name = '" + typo + "'")) {
        assertTrue(rs.next());
        assertEquals(0, rs.getInt(1), "schema created");
      }
    }
  }

  /** The rewrite migration 0.1 had applied to the jar's DDL: IF NOT EXISTS everywhere, no CONCURRENTLY, no public. prefix. */
  static String idempotent(String sql) {
    String s = sql.replaceAll("(?i)\\bpublic\\.(?=[\"A-Za-z_])", "");
    s = s.replaceAll("(?i)CREATE\\s+UNIQUE\\s+INDEX\\s+(?!IF\\s+NOT\\s+EXISTS)", "CREATE UNIQUE INDEX IF NOT EXISTS ");
    s = s.replaceAll("(?i)CREATE\\s+INDEX\\s+CONCURRENTLY\\s+(IF\\s+NOT\\s+EXISTS\\s+)?", "CREATE INDEX IF NOT EXISTS ");
    s = s.replaceAll("(?i)CREATE\\s+INDEX\\s+(?!IF\\s+NOT\\s+EXISTS)", "CREATE INDEX IF NOT EXISTS ");
    s = s.replaceAll("(?i)CREATE\\s+TABLE\\s+(?!IF\\s+NOT\\s+EXISTS)", "CREATE TABLE IF NOT EXISTS ");
    s = s.replaceAll("(?i)CREATE\\s+SEQUENCE\\s+(?!IF\\s+NOT\\s+EXISTS)", "CREATE SEQUENCE IF NOT EXISTS ");
    return s;
  }

  /** Statements of a file without DO blocks: ';' ends one at the end of a line; '--' lines dropped. */
  static List<String> statements(String sql) {
    List<String> out = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    for (String line : sql.split("\\R")) {
      if (line.strip().startsWith("--") || line.isBlank()) continue;
      cur.append(line).append('\n');
      if (line.strip().endsWith(";")) {
        out.add(cur.toString().strip().replaceAll(";$", ""));
        cur.setLength(0);
      }
    }
    if (!cur.toString().isBlank()) out.add(cur.toString().strip());
    return out;
  }

  static String resource(String name) {
    try (InputStream in = SchemaTest.class.getClassLoader().getResourceAsStream(name)) {
      assertTrue(in != null, "missing from the classpath: " + name);
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void settingsFromConfig() {
    DbSettings pg = DbSettings.fromConfig(ConfigFactory.parseString(
        "data-dir = x\ndb { url = \"jdbc:postgresql://h:5432/p?password=secret\", user = u, password = pw, pool-size = 3 }"));
    assertTrue(pg.isPostgres());
    assertEquals("slick.jdbc.PostgresProfile$", pg.slickProfile());
    assertEquals("org.postgresql.Driver", pg.driverClass());
    assertEquals(3, pg.poolSize());
    assertFalse(pg.toString().contains("secret"), pg.toString());
    assertEquals("slick.jdbc.PostgresProfile$", pg.pekkoConfig().getString("pekko-persistence-jdbc.shared-databases.parley.profile"));
    assertEquals("u", pg.pekkoConfig().getString("pekko-persistence-jdbc.shared-databases.parley.db.user"));
    // the journal's connections, like Parley's own pool, give up on a server that vanished (checked by hand:
    // a value of "abc" there makes the PostgreSQL driver refuse the journal's connections)
    assertEquals("120", pg.pekkoConfig().getString("pekko-persistence-jdbc.shared-databases.parley.db.properties.socketTimeout"));
    assertEquals("true", pg.pekkoConfig().getString("pekko-persistence-jdbc.shared-databases.parley.db.properties.tcpKeepAlive"));
    // PostgreSQL keeps the configured strategy (lease-majority); H2 falls back to keep-majority
    String strategy = "pekko.cluster.split-brain-resolver.active-strategy";
    assertFalse(pg.pekkoConfig().hasPath(strategy));
    DbSettings h2 = DbSettings.fromConfig(ConfigFactory.parseString(
        "data-dir = x\ndb { url = \"\", user = \"\", password = \"\", pool-size = 3 }"));
    assertEquals("keep-majority", h2.pekkoConfig().getString(strategy));
    Assertions.assertThrows(IllegalArgumentException.class, () -> DbSettings.fromConfig(
        ConfigFactory.parseString("data-dir = x\ndb { url = \"jdbc:mysql://h/p\", user = u, password = pw, pool-size = 3 }")));
  }
}
