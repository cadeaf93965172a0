package dev.parley.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... args) {
    return Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  @Test
  void helpPrintsUsageAndSucceeds() {
    assertEquals(0, run("--help"));
    String usage = out.toString(StandardCharsets.UTF_8);
    for (String cmd : new String[] {"diarize", "eval", "bench", "train-embedding", "PARLEY_ROLES"}) {
      assertTrue(usage.contains(cmd), "usage lacks " + cmd);
    }
    assertEquals(0, run("help"));
  }

  /** The node's usage lists every command and option of the pipeline commands (Cli's own text). */
  @Test
  void usageListsThePipelineCommandsOptions() {
    for (String option : new String[] {"--oracle-count", "--rttm", "--vad-model", "--embedding-model", "--device",
        "--threads", "--param", "evaluate-embedding", "train-vad", "PARLEY_PIPELINE_THREADS"}) {
      assertTrue(Main.USAGE.contains(option), "usage lacks " + option);
    }
  }

  /** Every command answers --help and -h with its usage and exit code 0, and does nothing else. */
  @Test
  void everyCommandHasHelp() {
    for (String command : new String[] {"diarize", "eval", "bench", "train-embedding", "train-vad", "evaluate-embedding"}) {
      assertEquals(0, run(command, "--help"), command + " --help");
      assertEquals(0, run(command, "-h"), command + " -h");
    }
    assertEquals(2, run("train-vad", "--frobnicate"));
  }

  @Test
  void anUnknownCommandIsAUsageError() {
    assertEquals(2, run("serve-everything"));
    String e = err.toString(StandardCharsets.UTF_8);
    assertTrue(e.contains("unknown command 'serve-everything'"), e);
    assertTrue(e.contains("Usage:"), e);
  }

  /**
   * A node that cannot start because a port it needs is taken exits 1, not 0: a supervisor that
   * scales on process exit reads 0 as "left gracefully" (coordinated shutdown ran on the failed
   * start and used to exit 0 before Main could exit 1). A gpu node's health port too (QA: it only
   * warned, and the platform's probe asked whichever process held the port).
   */
  @Test
  void aNodeWhosePortIsTakenExitsOne(@TempDir Path dir) throws Exception {
    for (String[] roleAndPort : new String[][] {
        {"http", "PARLEY_CLUSTER_PORT"}, {"http", "PARLEY_HTTP_PORT"}, {"gpu", "PARLEY_HTTP_PORT"}}) {
      String role = roleAndPort[0];
      String taken = roleAndPort[1];
      try (ServerSocket busy = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
          ServerSocket free = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
        int freePort = free.getLocalPort();
        free.close();
        ProcessBuilder pb = node(dir.resolve(role + taken + ".log"), role, dir.resolve(role + taken));
        if (role.equals("gpu")) pb.environment().put("PARLEY_SEED_NODES", "127.0.0.1:" + freePort);
        pb.environment().put("PARLEY_JWT_SECRET", "0123456789abcdef0123456789abcdef");
        pb.environment().put("PARLEY_CLUSTER_PORT", "" + (taken.equals("PARLEY_CLUSTER_PORT") ? busy.getLocalPort() : freePort));
        pb.environment().put("PARLEY_HTTP_PORT", "" + (taken.equals("PARLEY_HTTP_PORT") ? busy.getLocalPort() : freePort));
        Process p = pb.start();
        try {
          assertTrue(p.waitFor(90, TimeUnit.SECONDS), role + ", " + taken + ": the node did not exit");
          String log = Files.readString(dir.resolve(role + taken + ".log"));
          assertEquals(1, p.exitValue(), role + " node, " + taken + " taken; the node said:\n" + log);
          // one line names the port, its variable and the cause (Main's own line may lose the race with
          // the exit, so the node's log line is the one to check)
          String port = taken.equals("PARLEY_HTTP_PORT") && role.equals("gpu") ? "health endpoint" : "";
          assertTrue(log.contains("the node could not start: cannot bind the ") && log.contains(port)
              && log.contains(":" + busy.getLocalPort() + " (" + taken + "; each node on one host needs its own): ")
              && log.contains("Address already in use"), log);
          assertFalse(log.contains("at dev.parley.node.Main"), "no stack trace for a port that is taken:\n" + log);
        } finally {
          p.destroyForcibly();
        }
      }
    }
  }

  /**
   * QA: a second embedded node started on the data directory of a running one retried H2's "file
   * is locked" for 30 s as if the database were starting, then exited. It now exits 1 at once, saying why.
   */
  @Test
  void aSecondNodeOnTheSameDataDirectoryExitsAtOnceSayingWhy(@TempDir Path dir) throws Exception {
    Path data = dir.resolve("data");
    // the database file a running node holds, as the embedded default names it
    String url = "jdbc:h2:file:" + data.resolve("db/parley").toAbsolutePath() + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0";
    try (java.sql.Connection held = java.sql.DriverManager.getConnection(url, "sa", "");
        ServerSocket free = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      int port = free.getLocalPort();
      free.close();
      ProcessBuilder pb = node(dir.resolve("second.log"), "http", data);
      pb.environment().put("PARLEY_JWT_SECRET", "0123456789abcdef0123456789abcdef");
      pb.environment().put("PARLEY_CLUSTER_PORT", "" + port);
      pb.environment().put("PARLEY_HTTP_PORT", "" + port);
      long t0 = System.nanoTime();
      String log = exit(pb, 1);
      assertTrue(log.contains("is in use by another process"), log);
      assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(25), "not after the 30 s of retries: " + log);
    }
  }

  /**
   * QA: the systemd template ships PARLEY_JWT_SECRET empty, and each http node on PostgreSQL then
   * generated its own secret and refused the tokens of the others. It is a configuration error.
   */
  @Test
  void anHttpNodeOnPostgresWithoutAJwtSecretIsAConfigurationError(@TempDir Path dir) throws Exception {
    ProcessBuilder pb = node(dir.resolve("node.log"), "http", dir.resolve("data"));
    pb.environment().put("PARLEY_DB_URL", "jdbc:postgresql://127.0.0.1:1/none"); // never reached
    pb.environment().remove("PARLEY_JWT_SECRET");
    String log = exit(pb, 2);
    assertTrue(log.contains("PARLEY_JWT_SECRET must be set on PostgreSQL"), log);
  }

  /**
   * A review: only the JWT rule was checked to exit 2. A unitless duration, a number that is not one
   * and a lease timing Pekko refuses (it crashed the cluster, unexplained) are configuration errors
   * too, for the commands as for a node.
   */
  @Test
  void badSettingsAreConfigurationErrorsForNodesAndCommands(@TempDir Path dir) throws Exception {
    ProcessBuilder idle = node(dir.resolve("idle.log"), "gpu", dir.resolve("data"));
    idle.environment().put("PARLEY_GPU_IDLE_TIMEOUT", "300");
    assertTrue(exit(idle, 2).contains("PARLEY_GPU_IDLE_TIMEOUT"));

    ProcessBuilder slots = node(dir.resolve("slots.log"), "gpu", dir.resolve("data"));
    slots.environment().put("PARLEY_GPU_CONCURRENCY", "abc");
    assertTrue(exit(slots, 2).contains("PARLEY_GPU_CONCURRENCY"));

    ProcessBuilder lease = node(dir.resolve("lease.log"), "http", dir.resolve("data"), "-Dparley.cluster.lease.heartbeat-interval=4s");
    lease.environment().put("PARLEY_DB_URL", "jdbc:postgresql://127.0.0.1:1/none"); // never reached
    lease.environment().put("PARLEY_JWT_SECRET", "0123456789abcdef0123456789abcdef");
    assertTrue(exit(lease, 2).contains("heartbeat-interval (4s) must be less than half of heartbeat-timeout (8s)"));

    ProcessBuilder diarize = node(dir.resolve("diarize.log"), "gpu", dir.resolve("data"));
    diarize.command().addAll(List.of("diarize", dir.resolve("none.wav").toString()));
    diarize.environment().put("PARLEY_PIPELINE_THREADS", "abc");
    String said = exit(diarize, 2);
    assertTrue(said.contains("configuration error") && said.contains("PARLEY_PIPELINE_THREADS"), said);
  }

  /**
   * A node process of this test class path with {@code role} and {@code dataDir}, its output into
   * {@code log}; {@code jvmOptions} go before the main class.
   */
  private static ProcessBuilder node(Path log, String role, Path dataDir, String... jvmOptions) {
    List<String> command = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path")));
    command.addAll(List.of(jvmOptions));
    command.add(Main.class.getName());
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("PARLEY_ROLES", role);
    pb.environment().put("PARLEY_DATA_DIR", dataDir.toString());
    return pb;
  }

  /** Starts {@code pb}, expects it to exit with {@code code} within a minute, and returns what it logged. */
  private static String exit(ProcessBuilder pb, int code) throws Exception {
    Process p = pb.start();
    try {
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the node did not exit");
      String log = Files.readString(pb.redirectOutput().file().toPath());
      assertEquals(code, p.exitValue(), log);
      return log;
    } finally {
      p.destroyForcibly();
    }
  }
}
