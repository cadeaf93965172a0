package dev.parley.gpu.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.parley.gpu.cli.Cli;
import dev.parley.gpu.testutil.SharedData;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * DER regression on ../shared/data/ami-dev (all 10 files, collar 0, overlap scored), through the
 * {@code eval} command and the committed default speaker model. Fails when DER rises more than one
 * point above the figure recorded in docs/BENCHMARKS.md (machine-readable comment lines
 * {@code <!-- ami-dev-der-collar0: X -->} for Silero VAD,
 * {@code <!-- ami-dev-der-collar0-parley-vad: X -->} for Parley's own VAD, the default, and
 * {@code <!-- ami-dev-der-collar0-energy-vad: X -->} for the energy VAD).
 */
class DerRegressionSharedDataTest {
  static final double TOLERANCE_POINTS = 1.0;

  static Path benchmarks() {
    Path p = Path.of(System.getProperty("user.dir")).resolve("../docs/BENCHMARKS.md").normalize();
    assertTrue(Files.isRegularFile(p), "docs/BENCHMARKS.md not found at " + p);
    return p;
  }

  /** The figure recorded under {@code key}, in percent. */
  static double recorded(String key) throws IOException {
    Matcher m = Pattern.compile("<!--\\s*" + Pattern.quote(key) + ":\\s*([0-9.]+)\\s*-->")
        .matcher(Files.readString(benchmarks()));
    assertTrue(m.find(), "no <!-- " + key + ": X --> line in docs/BENCHMARKS.md");
    return Double.parseDouble(m.group(1));
  }

  /** Runs eval over ami-dev and returns the TOTAL DER in percent. */
  static double evalDer(String... extra) {
    Path ami = SharedData.amiDev();
    String[] base = {"--ref", ami.resolve("ami-dev.rttm").toString(), "--uem", ami.resolve("ami-dev.uem").toString(),
        "--collar", "0", "--device", "cpu"};
    String[] args = new String[base.length + extra.length + 1];
    System.arraycopy(base, 0, args, 0, base.length);
    System.arraycopy(extra, 0, args, base.length, extra.length);
    args[args.length - 1] = ami.toString();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc = Cli.run("eval", args, ConfigFactory.load().getConfig("parley"), new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    String text = out.toString(StandardCharsets.UTF_8);
    System.out.println(text);
    assertEquals(0, rc, err.toString(StandardCharsets.UTF_8));
    assertEquals(10, text.lines().filter(l -> l.startsWith("trn")).count(), "all ten files scored: " + text);
    String total = text.lines().filter(l -> l.startsWith("TOTAL")).findFirst().orElseThrow();
    return Double.parseDouble(total.trim().split("\\s+")[1]);
  }

  @Test
  void derWithSileroVadDoesNotRegress() throws IOException {
    double limit = recorded("ami-dev-der-collar0") + TOLERANCE_POINTS;
    double der = evalDer("--vad-model", SharedData.sileroModel().toString());
    assertTrue(der <= limit, String.format(Locale.ROOT, "DER %.2f%% is above %.2f%% (recorded + 1 point)", der, limit));
  }

  @Test
  void derWithTheDefaultVadDoesNotRegress() throws IOException {
    double limit = recorded("ami-dev-der-collar0-parley-vad") + TOLERANCE_POINTS;
    double der = evalDer("--vad-model", "");
    assertTrue(der <= limit, String.format(Locale.ROOT, "DER %.2f%% is above %.2f%% (recorded + 1 point)", der, limit));
  }

  @Test
  void derWithTheEnergyVadDoesNotRegress() throws IOException {
    double limit = recorded("ami-dev-der-collar0-energy-vad") + TOLERANCE_POINTS;
    double der = evalDer("--vad-model", "energy");
    assertTrue(der <= limit, String.format(Locale.ROOT, "DER %.2f%% is above %.2f%% (recorded + 1 point)", der, limit));
  }
}
