package dev.parley.http.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import com.zaxxer.hikari.HikariDataSource;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded default's H2 database keeps what it committed when the process is killed at once
 * (SIGKILL, an OOM kill, a power cut of the container): H2 otherwise writes commits in the
 * background up to a second later, and a meeting answered 202 could vanish with its events. And
 * once a node has shut the database down and closed its pools, the file is closed and unlocked.
 */
class H2DurabilityTest {
  /** Child process: commits {@code n} rows one by one through the embedded URL, says so, then waits to be killed. */
  public static void main(String[] args) throws Exception {
    try (Connection c = DriverManager.getConnection(DbSettings.h2FileUrl(Path.of(args[0])), "sa", "");
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE t (i INT PRIMARY KEY)");
      for (int i = 0; i < Integer.parseInt(args[1]); i++) {
        s.execute("INSERT INTO t VALUES (" + i + ")"); // auto-commit: one commit per row
      }
      System.out.println("committed");
      System.out.flush();
      Thread.sleep(60_000);
    }
  }

  @Test
  void commitsSurviveAKilledProcess(@TempDir Path dir) throws Exception {
    int rows = 20;
    Process child = new ProcessBuilder(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-cp", System.getProperty("java.class.path"), H2DurabilityTest.class.getName(), dir.toString(), "" + rows)
        .redirectErrorStream(true)
        .start();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      StringBuilder seen = new StringBuilder();
      while ((line = out.readLine()) != null && !line.equals("committed")) seen.append(line).append('\n');
      assertEquals("committed", line, "child output:\n" + seen);
      child.destroyForcibly(); // SIGKILL: no shutdown hook, no close
      assertTrue(child.waitFor(20, TimeUnit.SECONDS));
    } finally {
      child.destroyForcibly();
    }
    try (Connection c = DriverManager.getConnection(DbSettings.h2FileUrl(dir), "sa", "");
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM t")) {
      rs.next();
      assertEquals(rows, rs.getInt(1), "rows committed before the kill");
    }
  }

  @Test
  void aPoolThatReconnectsAfterShutdownDoesNotKeepTheFileOpen(@TempDir Path dir) throws Exception {
    DbSettings db = new DbSettings(DbSettings.h2FileUrl(dir), "sa", "", 2);
    try (HikariDataSource pool = Database.create(db)) {
      try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
        s.execute("CREATE TABLE t (i INT)");
      }
      // what the node does last as it stops; a pool still in use afterwards (a projection, the
      // journal's) opens the database again, which must close with its last connection
      try (Connection c = DriverManager.getConnection(db.url(), "sa", ""); Statement s = c.createStatement()) {
        s.execute("SHUTDOWN");
      }
      pool.getHikariPoolMXBean().softEvictConnections(); // what the pool does once it finds them dead
      try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
        s.execute("SELECT COUNT(*) FROM t");
      }
    }
    try (FileChannel ch = FileChannel.open(dir.resolve("db").resolve("parley.mv.db"), StandardOpenOption.WRITE);
        FileLock lock = ch.tryLock()) { // within this JVM, a lock H2 still held would throw
      assertNotNull(lock, "the H2 database file is still locked after every pool closed");
    }
  }
}
