package dev.parley.http.db;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates or migrates the database at every start, idempotently: Pekko Persistence JDBC's own
 * table definitions (read from its jar, made idempotent and schema-neutral) and Parley's tables
 * from {@code schema/<postgres|h2>/parley-*.sql} (the top-level {@code config/schema} folder).
 *
 * <p>On PostgreSQL several nodes may start at once: the migration runs under an advisory lock.
 */
public final class Schema {
  private static final Logger log = LoggerFactory.getLogger(Schema.class);

  /** Parley's schema files per dialect, applied in this order; every statement is idempotent. */
  public static final List<String> PARLEY_FILES = List.of("parley-001-users.sql", "parley-002-meeting-list.sql",
      "parley-003-blobs.sql", "parley-004-lease.sql", "parley-005-token-generation.sql",
      "parley-006-list-error-retryable.sql");

  static final long PG_LOCK_KEY = 0x5061726c6579L; // "Parley"
  static final long PG_LOCK_TIMEOUT_MS = 10_000;

  private static final Pattern UNIQUE_INDEX = Pattern.compile("(?i)CREATE\\s+UNIQUE\\s+INDEX\\s+(?!IF\\s+NOT\\s+EXISTS)");
  private static final Pattern INDEX_CONCURRENTLY =
      Pattern.compile("(?i)CREATE\\s+INDEX\\s+CONCURRENTLY\\s+(IF\\s+NOT\\s+EXISTS\\s+)?");
  private static final Pattern INDEX = Pattern.compile("(?i)CREATE\\s+INDEX\\s+(?!IF\\s+NOT\\s+EXISTS)");
  private static final Pattern TABLE = Pattern.compile("(?i)CREATE\\s+TABLE\\s+(?!IF\\s+NOT\\s+EXISTS)");
  private static final Pattern SEQUENCE = Pattern.compile("(?i)CREATE\\s+SEQUENCE\\s+(?!IF\\s+NOT\\s+EXISTS)");
  private static final Pattern PUBLIC_PREFIX = Pattern.compile("(?i)\\bpublic\\.(?=[\"A-Za-z_])");

  private Schema() {}

  /** Applies the journal schema and Parley's tables; safe to run at every start and concurrently. */
  public static void migrate(DataSource ds, DbSettings db) {
    List<String> statements = new ArrayList<>();
    String pekko = "schema/" + db.dialect() + "/" + db.dialect() + "-create-schema.sql";
    statements.addAll(split(idempotent(resource(pekko))));
    for (String f : PARLEY_FILES) statements.addAll(split(resource("schema/" + db.dialect() + "/" + f)));
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(true);
      if (db.isPostgres()) {
        try (Statement s = c.createStatement()) {
          // a lock that does not come (another node's migration hung, a table held by a long
          // transaction) fails this try with PostgreSQL's "lock timeout" instead of hanging the start
          s.execute("SET lock_timeout = " + PG_LOCK_TIMEOUT_MS);
          try {
            s.execute("SELECT pg_advisory_lock(" + PG_LOCK_KEY + ")");
            try {
              run(c, statements);
            } finally {
              s.execute("SELECT pg_advisory_unlock(" + PG_LOCK_KEY + ")");
            }
          } finally {
            s.execute("RESET lock_timeout"); // the connection goes back to the pool
          }
        }
      } else {
        synchronized (Schema.class) {
          run(c, statements);
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException("database migration failed on " + db.safeUrl() + ": " + e.getMessage(), e);
    }
    log.info("database schema ready on {} ({} statements)", db.safeUrl(), statements.size());
  }

  private static void run(Connection c, List<String> statements) throws SQLException {
    try (Statement s = c.createStatement()) {
      for (String sql : statements) {
        try {
          s.execute(sql);
        } catch (SQLException e) {
          throw new SQLException(e.getMessage() + " [in: " + sql + "]", e.getSQLState(), e);
        }
      }
    }
  }

  /**
   * Makes Pekko's bundled DDL safe to re-run and independent of the {@code public} schema (so a
   * {@code currentSchema} in the URL decides where the tables go): {@code IF NOT EXISTS} on every
   * CREATE, no {@code CONCURRENTLY} (the tables are created empty), no {@code public.} prefix.
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

  /**
   * Statements separated by ';' at the end of a line, except inside a {@code $$}-quoted body (a
   * PostgreSQL {@code DO} block); '--' comment lines dropped.
   */
  static List<String> split(String sql) {
    List<String> out = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    boolean quoted = false;
    for (String line : sql.split("\\R")) {
      String t = line.strip();
      if (!quoted && (t.startsWith("--") || t.isEmpty())) continue;
      cur.append(line).append('\n');
      for (int i = t.indexOf("$$"); i >= 0; i = t.indexOf("$$", i + 2)) quoted = !quoted;
      if (!quoted && t.endsWith(";")) {
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
