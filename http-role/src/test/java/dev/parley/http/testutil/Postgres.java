package dev.parley.http.testutil;

import static org.junit.jupiter.api.Assertions.fail;

import dev.parley.http.db.DbSettings;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;

/**
 * The real PostgreSQL the tests need: 127.0.0.1:5432, database {@code test}, user postgres, trust
 * auth (override with -Dparley.test.pg.url=...). Each test class works in a fresh schema, selected
 * through {@code currentSchema}, and drops it afterwards. An unreachable server fails the test.
 */
public final class Postgres implements AutoCloseable {
  public static final String BASE_URL = System.getProperty("parley.test.pg.url", "jdbc:postgresql://127.0.0.1:5432/test");
  public static final String USER = System.getProperty("parley.test.pg.user", "postgres");

  public final String schema;
  public final DbSettings db;

  private Postgres(String schema) {
    this.schema = schema;
    String sep = BASE_URL.contains("?") ? "&" : "?";
    this.db = new DbSettings(BASE_URL + sep + "currentSchema=" + schema, USER, "", 8);
  }

  /** A new empty schema; fails the calling test when PostgreSQL is not reachable. */
  public static Postgres freshSchema() {
    String schema = "parley_t_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (Connection c = connect(); Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA " + schema);
    } catch (SQLException e) {
      fail("PostgreSQL is required for this test and is not reachable at " + BASE_URL + " as user " + USER
          + " (trust auth, database 'test'): " + e.getMessage()
          + ". Start it (e.g. `pg_ctlcluster <version> main start`, as .ci/run does) and rerun.", e);
    }
    return new Postgres(schema);
  }

  static Connection connect() throws SQLException {
    DriverManager.setLoginTimeout(5);
    return DriverManager.getConnection(BASE_URL, USER, "");
  }

  @Override
  public void close() {
    try (Connection c = connect(); Statement s = c.createStatement()) {
      s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    } catch (SQLException e) {
      System.err.println("could not drop test schema " + schema + ": " + e.getMessage());
    }
  }
}
