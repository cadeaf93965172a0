package dev.parley.http.db;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationVersion;
import org.flywaydb.core.api.callback.Callback;
import org.flywaydb.core.api.callback.Event;
import org.flywaydb.core.api.migration.Context;
import org.flywaydb.core.api.migration.JavaMigration;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates or migrates the database at start-up with Flyway, which records what it applied in
 * {@code flyway_schema_history} and applies each migration once, under its own lock (several
 * nodes may start at once). The migrations, in version order:
 * <ul>
 *   <li>0.1: Pekko Persistence JDBC's own table definitions, read from its jar and made idempotent
 *       and schema-neutral ({@link PekkoJournal});
 *   <li>1, 2, ...: Parley's tables, {@code schema/<postgres|h2>/parley-NNN-what.sql} (the top-level
 *       {@code config/schema} folder).
 * </ul>
 * A database that Parley created before it used Flyway has tables but no history: it is
 * baselined at version 0, and every migration runs on it once more, which is harmless because
 * each of those written before (up to {@code parley-006}) is idempotent.
 */
public final class Schema {
  private static final Logger log = LoggerFactory.getLogger(Schema.class);

  /**
   * How long a migration statement waits for a table lock (a long reader, such as a pg_dump,
   * holding it), and about how long a node waits for another node's migration, before the try
   * fails with an error instead of hanging the start.
   */
  static final long PG_LOCK_TIMEOUT_MS = 10_000;

  private static final Pattern UNIQUE_INDEX = Pattern.compile("(?i)CREATE\\s+UNIQUE\\s+INDEX\\s+(?!IF\\s+NOT\\s+EXISTS)");
  private static final Pattern INDEX_CONCURRENTLY =
      Pattern.compile("(?i)CREATE\\s+INDEX\\s+CONCURRENTLY\\s+(IF\\s+NOT\\s+EXISTS\\s+)?");
  private static final Pattern INDEX = Pattern.compile("(?i)CREATE\\s+INDEX\\s+(?!IF\\s+NOT\\s+EXISTS)");
  private static final Pattern TABLE = Pattern.compile("(?i)CREATE\\s+TABLE\\s+(?!IF\\s+NOT\\s+EXISTS)");
  private static final Pattern SEQUENCE = Pattern.compile("(?i)CREATE\\s+SEQUENCE\\s+(?!IF\\s+NOT\\s+EXISTS)");
  private static final Pattern PUBLIC_PREFIX = Pattern.compile("(?i)\\bpublic\\.(?=[\"A-Za-z_])");

  private Schema() {}

  /**
   * Applies what the database lacks, on connections of its own (closed afterwards, so the pool's
   * connections keep their settings); safe to run at every start and concurrently.
   *
   * @throws IllegalStateException when the migration fails (the node retries, then exits)
   */
  public static void migrate(DbSettings db) {
    long t0 = System.nanoTime();
    Flyway flyway = Flyway.configure(Schema.class.getClassLoader())
        .dataSource(db.url(), db.user(), db.password())
        .locations("classpath:schema/" + db.dialect())
        .sqlMigrationPrefix("parley-")
        .sqlMigrationSeparator("-")
        .javaMigrations(new PekkoJournal(db))
        .baselineOnMigrate(true)
        .baselineVersion("0")
        .baselineDescription("tables created before Parley used Flyway")
        .callbacks(db.isPostgres() ? new Callback[] {new LockTimeout()} : new Callback[0])
        .lockRetryCount((int) (PG_LOCK_TIMEOUT_MS / 1000))
        .load();
    MigrateResult result;
    try {
      if (db.isPostgres()) {
        result = flyway.migrate();
      } else {
        synchronized (Schema.class) { // one process owns an H2 file: its own threads take turns
          result = flyway.migrate();
        }
      }
    } catch (FlywayException e) {
      throw new IllegalStateException("database migration failed on " + db.safeUrl() + ": " + e.getMessage(), e);
    }
    if (result.migrationsExecuted > 0) {
      log.info("database schema on {} migrated to version {} in {} ms: applied {}", db.safeUrl(), result.targetSchemaVersion,
          (System.nanoTime() - t0) / 1_000_000,
          result.migrations.stream().map(m -> m.version + " " + m.description).collect(Collectors.joining(", ")));
    } else {
      log.info("database schema on {} is up to date (version {}, checked in {} ms)", db.safeUrl(), result.initialSchemaVersion,
          (System.nanoTime() - t0) / 1_000_000);
    }
  }

  /**
   * Gives each connection Flyway opens on PostgreSQL the lock timeout (a statement that waits
   * longer for a table lock fails instead of hanging the start), and keeps PostgreSQL's notices
   * ("relation ... already exists, skipping", once per table when a database from before Flyway
   * is migrated) out of the log, where Flyway would write each as a warning.
   */
  static final class LockTimeout implements Callback {
    @Override
    public boolean supports(Event event, org.flywaydb.core.api.callback.Context context) {
      return event == Event.AFTER_CONNECT;
    }

    @Override
    public boolean canHandleInTransaction(Event event, org.flywaydb.core.api.callback.Context context) {
      return true;
    }

    @Override
    public void handle(Event event, org.flywaydb.core.api.callback.Context context) {
      try (Statement s = context.getConnection().createStatement()) {
        s.execute("SET lock_timeout = " + PG_LOCK_TIMEOUT_MS);
        s.execute("SET client_min_messages = warning");
      } catch (SQLException e) {
        throw new FlywayException("cannot set up the migration's connection: " + e.getMessage(), e);
      }
    }

    @Override
    public String getCallbackName() {
      return "lock timeout";
    }
  }

  /** Pekko Persistence JDBC's journal, snapshot and durable-state tables, as its jar defines them. */
  static final class PekkoJournal implements JavaMigration {
    private final String resource;

    PekkoJournal(DbSettings db) {
      this.resource = "schema/" + db.dialect() + "/" + db.dialect() + "-create-schema.sql";
    }

    @Override
    public MigrationVersion getVersion() {
      return MigrationVersion.fromVersion("0.1");
    }

    @Override
    public String getDescription() {
      return "pekko persistence jdbc tables";
    }

    @Override
    public Integer getChecksum() {
      return idempotent(resource(resource)).hashCode();
    }

    @Override
    public boolean canExecuteInTransaction() {
      return true;
    }

    @Override
    public void migrate(Context context) throws SQLException {
      try (Statement s = context.getConnection().createStatement()) {
        for (String sql : split(idempotent(resource(resource)))) s.execute(sql);
      }
    }
  }

  /**
   * Makes Pekko's bundled DDL safe to re-run and independent of the {@code public} schema (so a
   * {@code currentSchema} in the URL decides where the tables go): {@code IF NOT EXISTS} on every
   * CREATE, no {@code CONCURRENTLY} (the tables are created empty, and in a transaction), no
   * {@code public.} prefix.
   */
  static String idempotent(String sql) {
    String s = PUBLIC_PREFIX.matcher(sql).replaceAll("");
    s = UNIQUE_INDEX.matcher(s).replaceAll("CREATE UNIQUE INDEX IF NOT EXISTS ");
    s = INDEX_CONCURRENTLY.matcher(s).replaceAll("CREATE INDEX IF NOT EXISTS ");
    s = INDEX.matcher(s).replaceAll("CREATE INDEX IF NOT EXISTS ");
    s = TABLE.matcher(s).replaceAll("CREATE TABLE IF NOT EXISTS ");
    s = SEQUENCE.matcher(s).replaceAll("CREATE SEQUENCE IF NOT EXISTS ");
    return s;
  }

  /** Statements separated by ';' at the end of a line; '--' comment lines dropped. */
  static List<String> split(String sql) {
    List<String> out = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    for (String line : sql.split("\\R")) {
      String t = line.strip();
      if (t.startsWith("--") || t.isEmpty()) continue;
      cur.append(line).append('\n');
      if (t.endsWith(";")) {
        String stmt = cur.toString().strip();
        out.add(stmt.substring(0, stmt.length() - 1).strip());
        cur.setLength(0);
      }
    }
    if (!cur.toString().isBlank()) out.add(cur.toString().strip());
    return out;
  }

  static String resource(String name) {
    try (InputStream in = Schema.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) throw new IllegalStateException("schema resource missing from the classpath: " + name);
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read schema resource " + name, e);
    }
  }
}
