package dev.parley.node.cluster;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;

/**
 * The real PostgreSQL the cluster tests use (CI: 127.0.0.1:5432, database {@code test}, user
 * {@code postgres}, trust auth), one fresh schema per test class. Fails with a clear message, never
 * skips, when the server is not there. Override with {@code -Dparley.test.pg.url=...}.
 */
final class TestPostgres implements AutoCloseable {
  static final String BASE_URL = System.getProperty("parley.test.pg.url", "jdbc:postgresql://127.0.0.1:5432/test");
  static final String USER = System.getProperty("parley.test.pg.user", "postgres");

  final String schema;

  private TestPostgres(String schema) {
    this.schema = schema;
  }

  static TestPostgres freshSchema(String prefix) {
    String schema = prefix + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    try (Connection c = connect(); Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA " + schema);
    } catch (SQLException e) {
      throw new AssertionError("cannot create schema " + schema + " in " + BASE_URL + ": " + e.getMessage(), e);
    }
    return new TestPostgres(schema);
  }

  static Connection connect() {
    try {
      return DriverManager.getConnection(BASE_URL, USER, "");
    } catch (SQLException e) {
      throw new AssertionError("The cluster tests need a running PostgreSQL at " + BASE_URL + " (user " + USER
          + ", trust auth); .ci/run starts one. Connection failed: " + e.getMessage(), e);
    }
  }

  /** The URL Parley uses: the fresh schema as the current schema, so the tables go there. */
  String url() {
    return BASE_URL + (BASE_URL.contains("?") ? "&" : "?") + "currentSchema=" + schema;
  }

  @Override
  public void close() {
    try (Connection c = connect(); Statement s = c.createStatement()) {
      s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    } catch (SQLException | AssertionError e) {
      System.err.println("could not drop test schema " + schema + ": " + e.getMessage());
    }
  }
}
