package dev.parley.http.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

/** Parley's own connection pool (users, read side, blob chunks); the journal has its own pool. */
public final class Database {
  private Database() {}

  /** A HikariCP pool for {@code db}; close it when the node stops. Does not connect eagerly. */
  public static HikariDataSource create(DbSettings db) {
    HikariConfig c = config(db, "parley-db", db.poolSize());
    c.setMinimumIdle(Math.min(2, db.poolSize()));
    c.setConnectionTimeout(5_000);
    c.setValidationTimeout(2_000);
    if (db.isPostgres()) {
      // a read on a connection whose server vanished without a reset (a cut network, a frozen VM)
      // otherwise waits for TCP to give up, hours later, holding a request or a gpu job; Parley's
      // statements take milliseconds, a blob chunk a second at most
      c.addDataSourceProperty("socketTimeout", 120);
      c.addDataSourceProperty("tcpKeepAlive", true);
    }
    return new HikariDataSource(c);
  }

  /**
   * The settings every Parley pool shares: {@code db}'s URL, driver and credentials, auto-commit,
   * and no connection at start (a node starts without its database and reports 503 on /healthz
   * instead of refusing to start).
   */
  public static HikariConfig config(DbSettings db, String poolName, int size) {
    HikariConfig c = new HikariConfig();
    c.setPoolName(poolName);
    c.setJdbcUrl(db.url());
    c.setDriverClassName(db.driverClass());
    if (!db.user().isEmpty()) c.setUsername(db.user());
    if (!db.password().isEmpty()) c.setPassword(db.password());
    c.setMaximumPoolSize(size);
    c.setInitializationFailTimeout(-1);
    c.setAutoCommit(true);
    return c;
  }
}
