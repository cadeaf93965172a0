package dev.parley.gpu.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigResolveOptions;
import dev.parley.gpu.eval.Rttm;
import dev.parley.gpu.eval.Turn;
import dev.parley.gpu.pipeline.DiarizationPipeline;
import dev.parley.gpu.pipeline.PipelineSettings;
import dev.parley.gpu.pipeline.features.Fbank;
import dev.parley.gpu.pipeline.vad.EnergyVad;
import dev.parley.gpu.testutil.Signals;
import dev.parley.gpu.testutil.SpectralStatsModel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliTest {
  /** The real configuration ({@code config/application.conf}), as the node's Main passes it. */
  static final Config CONFIG = ConfigFactory.load().getConfig("parley");

  @TempDir static Path dir;
  static Path conv;
  static Path refRttm;

  /** Runs with a stand-in speaker model; returns {exit code, stdout, stderr}. */
  static Object[] run(String command, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc = Cli.run(command, args, CONFIG, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), o -> new DiarizationPipeline(new EnergyVad(o.params().vad()), new SpectralStatsModel(), new Fbank(Device.cpu()),
            o.params().with("clustering.threshold=" + SpectralStatsModel.CLUSTER_THRESHOLD).with("vad.padSeconds=0")));
    return new Object[] {rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
  }

  @BeforeAll
  static void files() throws Exception {
    float[] a1 = Signals.voice(5, 110, 700, 1100, 0.08, 1);
    float[] b1 = Signals.voice(4, 230, 450, 2300, 0.06, 2);
    float[] a2 = Signals.voice(4, 110, 700, 1100, 0.08, 3);
    float[] x = Signals.concat(a1, Signals.silence(1.5), b1, Signals.silence(1.5), a2, Signals.silence(2));
    x = Signals.mix(x, Signals.noise(x.length / 16000.0, 0.001, 5));
    conv = Signals.writeWav(dir.resolve("meeting-01.wav"), x);
    refRttm = Files.writeString(dir.resolve("ref.rttm"),
        "SPEAKER meeting-01 1 0.000 5.000 <NA> <NA> ann <NA> <NA>\n"
            + "SPEAKER meeting-01 1 6.500 4.000 <NA> <NA> bob <NA> <NA>\n"
            + "SPEAKER meeting-01 1 12.000 4.000 <NA> <NA> ann <NA> <NA>\n");
  }

  @Test
  void usageErrorsExitWithTwo() {
    String[][] bad = {
      {"diarize"},
      {"diarize", "--num-speakers", "zero", "x.wav"},
      {"diarize", "--num-speakers", "0", "x.wav"},
      {"diarize", "--min-speakers", "3", "--max-speakers", "2", "x.wav"},
      {"diarize", "--frobnicate", "x.wav"},
      {"diarize", "--rttm"},
      {"diarize", "--ref", "r.rttm", "x.wav"},
      {"eval", "x.wav"},
      {"eval", "--ref", "r.rttm", "--collar", "-1", "x.wav"},
      {"bench", "a.wav", "b.wav"},
      {"bench", "--param", "clustering.nope=1", "a.wav"},
      {"diarize", "--param", "embedding.hopSeconds=0", "a.wav"},
      {"diarize", "--param", "clustering.threshold=NaN", "a.wav"},
      {"diarize", "--param", "embedding.batchSize=-3", "a.wav"},
      {"bench", "--device", "tpu", "a.wav"},
      {"diarize", "--num-speakers", "3", "--max-speakers", "2", "x.wav"},
      {"diarize", "--num-speakers", "5000", "x.wav"}, // the API's limit too
      {"bench"},
      {"diarize", "--rttm", "x.wav", "x.wav"},
      {"diarize", "--rttm", "b.wav", "a.wav"},
      {"eval", "--ref", "r.rttm", "--rttm", "r.rttm", "x.wav"},
      {"diarize", "--oracle-count", "x.wav"},
      {"eval", "--ref", "r.rttm", "--oracle-count", "--num-speakers", "2", "x.wav"},
    };
    for (String[] args : bad) {
      Object[] r = run(args[0], Arrays.copyOfRange(args, 1, args.length));
      assertEquals(2, r[0], String.join(" ", args) + " -> " + r[2]);
      assertTrue(((String) r[2]).contains("usage:"), String.join(" ", args));
      assertTrue(((String) r[2]).startsWith("error: "), String.join(" ", args));
    }
    assertEquals(2, Cli.run("transcribe", new String[] {"x"}, CONFIG, System.out, new PrintStream(new ByteArrayOutputStream())));
  }

  /** A recording too long for the heap: one line that says what to do, not a stack trace. */
  @Test
  void runningOutOfMemoryIsOneClearLine() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc = Cli.run("diarize", new String[] {conv.toString()}, CONFIG, new PrintStream(new ByteArrayOutputStream()),
        new PrintStream(err, true, StandardCharsets.UTF_8), o -> {
          throw new OutOfMemoryError("Java heap space");
        });
    String text = err.toString(StandardCharsets.UTF_8);
    assertEquals(1, rc);
    assertTrue(text.startsWith("error: out of memory (Java heap space)") && text.contains("-Xmx"), text);
    assertEquals(1, text.lines().count(), text);
  }

  @Test
  void aSpeakerCountThatCannotBeMetIsSaid() throws Exception {
    Object[] r = run("diarize", "--num-speakers", "40", conv.toString());
    assertEquals(0, r[0], (String) r[2]);
    assertTrue(((String) r[2]).contains("warning: " + conv + ": asked for 40 speakers, found "), (String) r[2]);
    assertFalse(((String) r[2]).contains("note:"), "said once, as the pipeline's warning: " + r[2]);
    Path fifo = dir.resolve("pipe.wav");
    new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor();
    assertTrue(Cli.notAFile(fifo).startsWith("not a regular file"), Cli.notAFile(fifo));
    assertTrue(Cli.notAFile(dir.resolve("absent.wav")).startsWith("no such file"));
  }

  /** {@code parley.pipeline.*} (PARLEY_PIPELINE_THREADS, ...) gives the defaults; options override them. */
  @Test
  void pipelineSettingsComeFromConfigurationUnlessOptionsOverrideThem() throws Exception {
    PipelineSettings shipped = PipelineSettings.fromConfig(ConfigFactory.parseResources("application.conf")
        .resolve(ConfigResolveOptions.noSystem())
        .getConfig("parley"));
    assertEquals(new PipelineSettings("", "", "auto", 0), shipped);
    PipelineSettings configured = PipelineSettings.fromConfig(pipeline("threads = 3, device = cpu, vad-model = energy"));
    assertEquals(new PipelineSettings("energy", "", "cpu", 3), configured);
    assertEquals(configured, Cli.Options.parse("diarize", new String[] {"x.wav"}, configured).settings());
    assertEquals(new PipelineSettings("parley", "m", "auto", 2), Cli.Options.parse("diarize",
        new String[] {"--threads", "2", "--device", "auto", "--vad-model", "parley", "--embedding-model", "m", "x.wav"},
        configured).settings());

    // PARLEY_PIPELINE_THREADS=abc: one line that names the variable, before any work
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc = Cli.run("diarize", new String[] {conv.toString()}, pipeline("threads = abc"), System.out,
        new PrintStream(err, true, StandardCharsets.UTF_8), o -> {
          throw new AssertionError("no pipeline with a bad configuration");
        });
    assertEquals(1, rc);
    assertEquals("error: parley.pipeline.threads (PARLEY_PIPELINE_THREADS) must be a whole number, 0 or more, not abc",
        err.toString(StandardCharsets.UTF_8).strip());
    assertEquals(0, PipelineSettings.fromConfig(pipeline("threads = \"\"")).threads()); // PARLEY_PIPELINE_THREADS=
    for (String bad : new String[] {"threads = -1", "threads = 1.5", "threads = \" x\""}) {
      IllegalArgumentException e = Assertions.assertThrows(IllegalArgumentException.class,
          () -> PipelineSettings.fromConfig(pipeline(bad)), bad);
      assertTrue(e.getMessage().contains("PARLEY_PIPELINE_THREADS"), e.getMessage());
    }
  }

  /** The shipped {@code parley} section with {@code pipeline} values replaced. */
  private static Config pipeline(String hocon) {
    return ConfigFactory.parseString("pipeline { " + hocon + " }").withFallback(CONFIG);
  }

  @Test
  void helpIsNotAnError() {
    Object[] r = run("diarize", "--help");
    assertEquals(0, r[0]);
    assertTrue(((String) r[2]).startsWith("usage:"), (String) r[2]);
  }

  @Test
  void inputsAndOutputsThatWouldBeConfusedAreRefusedBeforeAnyWork() throws Exception {
    Path d1 = Files.createDirectories(dir.resolve("ids/d1"));
    Path d2 = Files.createDirectories(dir.resolve("ids/d2"));
    Path x1 = Files.copy(conv, d1.resolve("x.wav"));
    Path x2 = Files.copy(conv, d2.resolve("x.flac"));
    Object[] same = run("diarize", x1.toString(), x2.toString());
    assertEquals(2, same[0], "a usage error, as an --rttm that names an input is");
    assertTrue(((String) same[2]).contains("share the file id x"), (String) same[2]);
    assertEquals("", same[1]);

    Object[] twice = run("diarize", x1.toString(), d1.resolve("../d1/x.wav").toString());
    assertEquals(2, twice[0]);
    assertTrue(((String) twice[2]).contains("is given twice"), (String) twice[2]);

    Object[] nowhere = run("diarize", "--rttm", dir.resolve("no/such/dir/out.rttm").toString(), x1.toString());
    assertEquals(2, nowhere[0], "a usage error: nothing was tried");
    assertTrue(((String) nowhere[2]).contains("no directory"), (String) nowhere[2]);
    assertFalse(((String) nowhere[2]).contains("s of audio"), "refused before diarizing: " + nowhere[2]);

    // whitespace would split the RTTM's fields
    Path spaced = Files.copy(conv, Files.createDirectories(dir.resolve("ids/sp")).resolve("weekly sync 2.wav"));
    Object[] r = run("diarize", spaced.toString());
    assertEquals(0, r[0], (String) r[2]);
    assertEquals(Set.of("weekly_sync_2"), Rttm.parse((String) r[1], "stdout").keySet());
  }

  @Test
  void anRttmLinkedToAnInputOrTheReferenceIsRefusedAndLeavesItWhole() throws Exception {
    Path d = Files.createDirectories(dir.resolve("links"));
    Path audio = Files.copy(conv, d.resolve("victim.wav"));
    Path ref = Files.copy(refRttm, d.resolve("ref.rttm"));
    byte[] audioBytes = Files.readAllBytes(audio);
    String refText = Files.readString(ref);
    Path toAudio = Files.createSymbolicLink(d.resolve("out.rttm"), audio);
    Path toRef = Files.createSymbolicLink(d.resolve("hyp.rttm"), ref);
    Path hardRef = Files.createLink(d.resolve("hard.rttm"), ref);
    // the review: a link to an audio file that only a directory input holds (no input names it)
    Path other = Files.copy(conv, d.resolve("other.wav"));
    byte[] otherBytes = Files.readAllBytes(other);
    Path toDirAudio = Files.createSymbolicLink(dir.resolve("links-out.rttm"), other);
    Object[][] runs = {
      run("eval", "--ref", ref.toString(), "--rttm", toDirAudio.toString(), d.toString()),
      run("diarize", "--rttm", toAudio.toString(), audio.toString()),
      run("eval", "--ref", ref.toString(), "--rttm", toRef.toString(), audio.toString()),
      run("eval", "--ref", ref.toString(), "--rttm", hardRef.toString(), audio.toString()),
    };
    for (Object[] r : runs) {
      assertEquals(2, r[0], (String) r[2]);
      assertTrue(((String) r[2]).contains("would be overwritten"), (String) r[2]);
    }
    Assertions.assertArrayEquals(audioBytes, Files.readAllBytes(audio));
    Assertions.assertArrayEquals(otherBytes, Files.readAllBytes(other));
    assertEquals(refText, Files.readString(ref));
  }

  @Test
  void benchRefusesAnRttmItWouldNotWrite() {
    Object[] r = run("bench", "--rttm", dir.resolve("bench.rttm").toString(), conv.toString());
    assertEquals(2, r[0]);
    assertTrue(((String) r[2]).contains("--rttm belongs to diarize and eval"), (String) r[2]);
  }

  @Test
  void aFileNameTheJvmCannotRepresentIsRefusedWithTheReason() {
    // a NUL stands in for what LANG=C makes of a non-ASCII name: Path.of refuses both
    Object[] r = run("diarize", conv.toString(), "bad\u0000name.wav");
    assertEquals(1, r[0]);
    assertTrue(((String) r[2]).contains("cannot use the file name") && ((String) r[2]).contains("UTF-8 locale"),
        (String) r[2]);
  }

  @Test
  void speakersWithOnlyEmptyTurnsAreNotCountedInTheReference() throws Exception {
    Path ref = Files.writeString(dir.resolve("empty-turn.rttm"), Files.readString(refRttm)
        + "SPEAKER meeting-01 1 5.000 0.000 <NA> <NA> ghost <NA> <NA>\n");
    Object[] r = run("eval", "--ref", ref.toString(), "--oracle-count", conv.toString());
    assertEquals(0, r[0], (String) r[2]);
    String line = ((String) r[1]).lines().filter(l -> l.startsWith("meeting-01")).findFirst().orElseThrow();
    assertTrue(line.matches(".*\\s2\\s+2\\s+\\|.*"), "found and reference count both 2: " + line);
  }

  @Test
  void evalSaysWhenNothingWasScored() throws Exception {
    Path onlyOther = Files.writeString(dir.resolve("other.uem"), "meeting-99 1 0.000 10.000\n");
    Object[] skipped = run("eval", "--ref", refRttm.toString(), "--uem", onlyOther.toString(), conv.toString());
    assertEquals(1, skipped[0]);
    assertTrue(((String) skipped[2]).contains("has no region for meeting-01"), (String) skipped[2]);

    Object[] wide = run("eval", "--ref", refRttm.toString(), "--collar", "30", conv.toString());
    assertEquals(0, wide[0], (String) wide[2]);
    String total = ((String) wide[1]).lines().filter(l -> l.startsWith("TOTAL")).findFirst().orElseThrow();
    assertTrue(total.contains("n/a") && !total.contains("0.00"), total);
    assertTrue(((String) wide[2]).contains("no reference speech scored"), (String) wide[2]);
  }

  @Test
  void referenceFilesAreReadWithTheirByteOrderMarkAndNamedInErrors() throws Exception {
    Path bom = Files.writeString(dir.resolve("bom.rttm"), "\uFEFF" + Files.readString(refRttm));
    assertEquals(3, Rttm.read(bom).get("meeting-01").size());
    Path latin1 = Files.write(dir.resolve("latin1.rttm"),
        "SPEAKER meeting-01 1 0.0 5.0 <NA> <NA> M\u00c9O069 <NA> <NA>\n".getBytes(StandardCharsets.ISO_8859_1));
    Object[] r = run("eval", "--ref", latin1.toString(), conv.toString());
    assertEquals(1, r[0]);
    assertTrue(((String) r[2]).contains("latin1.rttm is not UTF-8 text"), (String) r[2]);
  }

  @Test
  void missingInputIsAnErrorNotACrash() {
    Object[] r = run("diarize", dir.resolve("nope.wav").toString());
    assertEquals(1, r[0]);
    assertTrue(((String) r[2]).contains("no such file"), (String) r[2]);
    Object[] e = run("eval", "--ref", refRttm.toString(), dir.resolve("nowhere").toString());
    assertEquals(1, e[0]);
  }

  @Test
  void diarizeWritesRttmWithTheBaseNameAsFileId() throws Exception {
    Object[] r = run("diarize", conv.toString());
    assertEquals(0, r[0], (String) r[2]);
    Map<String, List<Turn>> turns = Rttm.parse((String) r[1], "stdout");
    assertEquals(List.of("meeting-01"), List.copyOf(turns.keySet()));
    assertEquals(2, turns.get("meeting-01").stream().map(Turn::speaker).distinct().count());
    Path out = dir.resolve("hyp.rttm");
    Object[] r2 = run("diarize", "--num-speakers", "1", "--rttm", out.toString(), conv.toString());
    assertEquals(0, r2[0]);
    assertEquals("", r2[1]);
    assertEquals(1, Rttm.read(out).get("meeting-01").stream().map(Turn::speaker).distinct().count());
  }

  @Test
  void diarizeReportsBadFilesAndGoesOn() throws Exception {
    Path junk = Files.writeString(dir.resolve("junk.wav"), "not audio at all");
    Object[] r = run("diarize", junk.toString(), conv.toString());
    assertEquals(1, r[0]);
    assertTrue(((String) r[2]).contains("junk.wav"), (String) r[2]);
    assertTrue(((String) r[1]).contains("meeting-01"), "the good file is still diarized");
  }

  @Test
  void evalPrintsDerBesideTheOneSpeakerBaseline() {
    Object[] r = run("eval", "--ref", refRttm.toString(), "--collar", "0.25", dir.toString());
    assertEquals(0, r[0], (String) r[2]);
    String out = (String) r[1];
    assertTrue(out.contains("meeting-01"), out);
    assertTrue(out.contains("TOTAL"), out);
    assertTrue(out.contains("one-speaker baseline: DER"), out);
    // the one-speaker baseline confuses bob's turn: 3.5 s of the 11.5 s scored outside the
    // ±0.25 s collars around the six reference boundaries = 30.43 %
    assertTrue(out.contains("30.43"), out);
    String total = out.lines().filter(l -> l.startsWith("TOTAL")).findFirst().orElseThrow();
    double der = Double.parseDouble(total.trim().split("\\s+")[1]);
    assertTrue(der < 15, "separates the two voices far better than one speaker does: " + out);
  }

  @Test
  void evalWithTheOracleCountGivesEachFileItsReferenceCount() throws Exception {
    // ann and bob in the reference: two speakers, where the model alone might find another count
    Object[] r = run("eval", "--ref", refRttm.toString(), "--oracle-count", conv.toString());
    assertEquals(0, r[0], (String) r[2]);
    String out = (String) r[1];
    assertTrue(out.contains("each file given its reference's speaker count"), out);
    String row = out.lines().filter(l -> l.startsWith("meeting-01")).findFirst().orElseThrow();
    String[] cols = row.trim().split("\\s+");
    assertEquals("2", cols[5], "speakers found: " + row);
    assertEquals("2", cols[6], "speakers in the reference: " + row);
    Path three = Files.writeString(dir.resolve("ref3.rttm"), Files.readString(refRttm)
        + "SPEAKER meeting-01 1 16.500 0.500 <NA> <NA> cy <NA> <NA>\n");
    String row3 = ((String) run("eval", "--ref", three.toString(), "--oracle-count", conv.toString())[1]).lines()
        .filter(l -> l.startsWith("meeting-01")).findFirst().orElseThrow();
    assertEquals("3", row3.trim().split("\\s+")[5], "speakers found: " + row3);
  }

  @Test
  void benchPrintsTheFigures() {
    Object[] r = run("bench", conv.toString());
    assertEquals(0, r[0], (String) r[2]);
    String out = (String) r[1];
    for (String k : List.of("audio seconds", "wall seconds", "real-time factor", "s per audio hour", "peak memory"))
      assertTrue(out.contains(k), out);
    assertTrue(out.contains("18.0"), out);
  }

  @Test
  void fileIdIsTheBaseNameWithoutExtension() {
    assertEquals("trn00", Cli.fileId(Path.of("/a/b/trn00.wav")));
    assertEquals("talk.final", Cli.fileId(Path.of("talk.final.m4a")));
    assertEquals("README", Cli.fileId(Path.of("README")));
    // RTTM fields are split at white space of every kind
    assertEquals("nb_sp_x", Cli.fileId(Path.of("nb\u00a0sp\u2003x.wav")));
  }
}
