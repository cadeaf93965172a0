package dev.parley.http.db;

import java.sql.SQLException;
import java.sql.Statement;
import java.util.stream.Collectors;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.callback.Callback;
import org.flywaydb.core.api.callback.Context;
import org.flywaydb.core.api.callback.Event;
import org.flywaydb.core.api.exception.FlywayValidateException;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates or migrates the database at start-up with Flyway, which records what it applied in
 * {@code flyway_schema_history} and applies each migration once, under its own lock (several
 * nodes may start at once). The migrations are {@code schema/<postgres|h2>/parley-VERSION-what.sql}
 * (the top-level {@code config/schema} folder), in version order: 0.1 is Pekko Persistence JDBC's
 * own tables, 001, 002, ... Parley's. A released file is never edited (Flyway refuses to start on
 * a changed checksum): a change is a new file.
 *
 * <p>A database that Parley created before it used Flyway has tables but no history: it is
 * baselined at version 0, and every migration runs on it once more, which is harmless because
 * each of those written before (up to {@code parley-006}) is idempotent. Flyway creates no schema:
 * a {@code currentSchema} in the URL that does not exist (a typo) stops the start instead of
 * starting on an empty one.
 */
public final class Schema {
  private static final Logger log = LoggerFactory.getLogger(Schema.class);

  /**
   * How long a migration statement waits for a table lock (a long reader, such as a pg_dump,
   * holding it), and about how long a node waits for another node's migration, before the try
   * fails with an error instead of hanging the start.
   */
  static final long PG_LOCK_TIMEOUT_MS = 10_000;

  /** The history says something trying again will not fix: a released migration was changed, or one failed. */
  public static final class NeedsRepair extends IllegalStateException {
    NeedsRepair(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private Schema() {}

  /**
   * Applies what the database lacks, on connections of its own (closed afterwards, so the pool's
   * connections keep their settings); safe to run at every start and concurrently.
   *
   * @throws NeedsRepair when the history does not match the migrations (README, "Upgrades")
   * @throws IllegalStateException when the migration fails otherwise (the node retries, then exits)
   */
  public static void migrate(DbSettings db) {
    long t0 = System.nanoTime();
    Flyway flyway = Flyway.configure(Schema.class.getClassLoader())
        .dataSource(db.url(), db.user(), db.password())
        .locations("classpath:schema/" + db.dialect())
        .sqlMigrationPrefix("parley-")
        .sqlMigrationSeparator("-")
        .createSchemas(false)
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
    } catch (FlywayValidateException e) {
      throw new NeedsRepair("the database schema on " + db.safeUrl() + " does not match this release's migrations: "
          + e.getMessage(), e);
    } catch (FlywayException e) {
      throw new IllegalStateException("database migration failed on " + db.safeUrl() + ": " + e.getMessage(), e);
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    if (result.migrationsExecuted > 0) {
      log.info("database schema on {} migrated from version {} to {} in {} ms: applied {}", db.safeUrl(),
          result.initialSchemaVersion == null ? "none" : result.initialSchemaVersion, result.targetSchemaVersion, ms,
          result.migrations.stream().map(m -> m.version + " " + m.description).collect(Collectors.joining(", ")));
    } else {
      log.info("database schema on {} is up to date (version {}, checked in {} ms)", db.safeUrl(),
          result.initialSchemaVersion, ms);
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
    public boolean supports(Event event, Context context) {
      return event == Event.AFTER_CONNECT;
    }

    @Override
    public boolean canHandleInTransaction(Event event, Context context) {
      return true;
    }

    @Override
    public void handle(Event event, Context context) {
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
}
