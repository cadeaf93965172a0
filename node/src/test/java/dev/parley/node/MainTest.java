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

  @Test
  void anUnknownCommandIsAUsageError() {
    assertEquals(2, run("serve-everything"));
    String e = err.toString(StandardCharsets.UTF_8);
    assertTrue(e.contains("unknown command 'serve-everything'"), e);
    assertTrue(e.contains("Usage:"), e);
  }
}
