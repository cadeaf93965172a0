package dev.parley.http.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
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
 * background up to a second later, and a meeting answered 202 could vanish with its events.
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
}
