package dev.parley.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

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
}
