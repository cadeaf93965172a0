package dev.parley.gpu.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import dev.parley.gpu.eval.DerResult;
import dev.parley.gpu.eval.DerScorer;
import dev.parley.gpu.eval.Turn;
import dev.parley.gpu.pipeline.features.Fbank;
import dev.parley.gpu.pipeline.vad.EnergyVad;
import dev.parley.gpu.pipeline.vad.SpeechMask;
import dev.parley.gpu.testutil.Signals;
import dev.parley.gpu.testutil.SpectralStatsModel;
import dev.parley.protocol.DiarizationOptions;
import dev.parley.protocol.DiarizationResult;
import dev.parley.protocol.Segment;
import dev.parley.protocol.SpeakerSummary;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole pipeline on synthetic voices, with a deterministic stand-in speaker model. */
class DiarizationPipelineTest {
  private static DiarizationPipeline pipeline;
  @TempDir static Path dir;

  @BeforeAll
  static void build() {
    PipelineParams p = PipelineParams.defaults().with("clustering.threshold=" + SpectralStatsModel.CLUSTER_THRESHOLD)
        .with("vad.padSeconds=0");
    pipeline = new DiarizationPipeline(new EnergyVad(p.vad()), new SpectralStatsModel(), new Fbank(Device.cpu()), p);
  }

  @AfterAll
  static void close() {
    pipeline.close();
  }

  static float[] a(double s, long seed) {
    return Signals.voice(s, 110, 700, 1100, 0.08, seed);
  }

  static float[] b(double s, long seed) {
    return Signals.voice(s, 230, 450, 2300, 0.06, seed);
  }

  /** A, pause, B, pause, A, B back to back, pause: 24 s with the truth as turns. */
  static float[] conversation(List<Turn> truth) {
    float[] x = Signals.concat(a(5, 1), Signals.silence(1.5), b(4, 2), Signals.silence(1.5), a(4, 3), b(5, 4), Signals.silence(3));
    truth.add(new Turn("c", 0, 5, "A"));
    truth.add(new Turn("c", 6.5, 10.5, "B"));
    truth.add(new Turn("c", 12, 16, "A"));
    truth.add(new Turn("c", 16, 21, "B"));
    return Signals.mix(x, Signals.noise(x.length / 16000.0, 0.001, 5));
  }

  static List<Turn> turns(DiarizationResult r) {
    List<Turn> out = new ArrayList<>();
    for (Segment s : r.segments()) out.add(new Turn("c", s.start(), s.end(), s.speaker()));
    return out;
  }

  @Test
  void askingForAGpuWhereThereIsNoneIsAClearError() {
    PipelineSettings gpu = new PipelineSettings("energy", "", "gpu", 1);
    if (Engine.getEngine("PyTorch").getGpuCount() == 0) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DiarizationPipeline.create(gpu));
      assertTrue(e.getMessage().contains("no CUDA GPU"), e.getMessage());
    } else {
      try (DiarizationPipeline p = DiarizationPipeline.create(gpu)) {
        assertTrue(p.models().containsKey("embedding"));
      }
    }
  }

  @Test
  void noSegmentEndsAfterTheAudio() throws Exception {
    // speech to the very end of 6.00006 s: the last 10 ms frame and the VAD's padding reach past it
    float[] x = Signals.concat(Signals.silence(2), Signals.voice(4, 110, 700, 1100, 0.08, 1), new float[1]);
    x = Signals.mix(x, Signals.noise(x.length / 16000.0, 0.001, 5));
    DiarizationResult r = pipeline.diarize(x, DiarizationOptions.NONE, null);
    double end = x.length / 16000.0;
    assertFalse(r.segments().isEmpty());
    for (Segment s : r.segments()) assertTrue(s.end() <= end && s.start() < s.end(), s + " within " + end);
    assertEquals(List.of(new Segment(1, 2, "A")),
        DiarizationPipeline.withinAudio(List.of(new Segment(1, 2, "A"), new Segment(2.5, 3, "B")), 2.5));
    assertEquals(List.of(new Segment(1, 2.2, "A")), DiarizationPipeline.withinAudio(List.of(new Segment(1, 2.3, "A")), 2.2));
    // a turn that began in the last partial frame would be an RTTM line of duration 0.000
    assertEquals(List.of(new Segment(1, 30, "A")), DiarizationPipeline.withinAudio(
        List.of(new Segment(1, 30, "A"), new Segment(30, 30.01, "B")), 30.00006));
  }

  @Test
  void turnsReachAsFarAsTheVadsOwnPaddingNotTheEmbeddingContext() throws Exception {
    List<Turn> truth = new ArrayList<>();
    float[] x = conversation(truth);
    PipelineParams base = PipelineParams.defaults().with("clustering.threshold=" + SpectralStatsModel.CLUSTER_THRESHOLD)
        .with("vad.padSeconds=0.3");
    EnergyVad vad = new EnergyVad(base.vad());
    List<SpeechMask.Region> speech = vad.detect(x).regions();
    assertEquals(3, speech.size(), "A, B, then A and B back to back: " + speech);
    for (double turnPad : new double[] {0, 0.1}) {
      PipelineParams p = base.with("vad.energyTurnPadSeconds=" + turnPad);
      try (DiarizationPipeline tight = new DiarizationPipeline(new EnergyVad(p.vad()), new SpectralStatsModel(),
          new Fbank(Device.cpu()), p)) {
        DiarizationResult r = tight.diarize(x, DiarizationOptions.NONE, null);
        assertEquals(2, r.speakers().size(), "speakers " + r.speakers());
        // the union of the turns is the speech found, padded by the VAD's own pad, not by the 0.3 s of context
        List<double[]> union = new ArrayList<>();
        for (Segment g : r.segments()) {
          double[] last = union.isEmpty() ? null : union.get(union.size() - 1);
          if (last != null && g.start() <= last[1] + 1e-6) last[1] = Math.max(last[1], g.end());
          else union.add(new double[] {g.start(), g.end()});
        }
        List<SpeechMask.Region> expected = vad.detect(x).padded(turnPad).regions();
        assertEquals(expected.size(), union.size(), "turn pad " + turnPad + ": " + r.segments());
        for (int i = 0; i < expected.size(); i++) {
          assertEquals(expected.get(i).startSeconds(), union.get(i)[0], 1e-6, "turn pad " + turnPad + ": " + r.segments());
          assertEquals(expected.get(i).endSeconds(), union.get(i)[1], 1e-6, "turn pad " + turnPad + ": " + r.segments());
        }
      }
    }
  }

  @Test
  void separatesTwoVoicesWithoutBeingToldHowMany() throws Exception {
    List<Turn> truth = new ArrayList<>();
    float[] x = conversation(truth);
    List<String> stages = new ArrayList<>();
    List<Double> fractions = new ArrayList<>();
    DiarizationResult r = pipeline.diarize(x, DiarizationOptions.NONE, (stage, f) -> {
      stages.add(stage);
      fractions.add(f);
    });
    assertEquals(2, r.speakers().size(), "speakers " + r.speakers() + " segments " + r.segments());
    DerResult der = DerScorer.score(truth, turns(r), null, 0);
    assertTrue(der.der() < 0.08, "DER " + der + " " + r.segments());
    // turns sorted, at 10 ms resolution, first speaker is SPEAKER_00
    assertEquals("SPEAKER_00", r.segments().get(0).speaker());
    for (int i = 1; i < r.segments().size(); i++) assertTrue(r.segments().get(i).start() >= r.segments().get(i - 1).start());
    for (Segment s : r.segments()) assertEquals(s.start() * 100, Math.rint(s.start() * 100), 1e-6);
    double talk = 0;
    for (SpeakerSummary s : r.speakers()) {
      talk += s.talkTime();
      double norm = 0;
      for (float v : s.centroid()) norm += v * v;
      assertEquals(1.0, Math.sqrt(norm), 1e-4, "centroid is L2-normalised");
      assertEquals(80, s.centroid().length);
    }
    assertEquals(18.0, talk, 1.5);
    // progress: stages in order, fractions never go back, ends at 1
    assertEquals(List.of("vad", "embedding"), stages.subList(0, 2));
    for (int i = 1; i < fractions.size(); i++) assertTrue(fractions.get(i) >= fractions.get(i - 1), stages + " " + fractions);
    assertEquals(1.0, fractions.get(fractions.size() - 1));
    assertEquals("energy-vad", r.models().get("vad"));
    assertEquals("test-spectral-stats", r.models().get("embedding"));
    assertEquals(x.length / 16000.0, r.timing().audioSeconds(), 1e-6);
    assertTrue(r.timing().processingSeconds() > 0);
    assertEquals(r.timing().processingSeconds() / r.timing().audioSeconds(), r.timing().realTimeFactor(), 1e-9);
    assertFalse(r.timing().device().isBlank());
    assertEquals(List.of("decode", "vad", "features+embedding", "clustering", "segmentation"),
        List.copyOf(r.timing().stageSeconds().keySet()), "stages in the order they ran");
    double staged = r.timing().stageSeconds().values().stream().mapToDouble(Double::doubleValue).sum();
    assertEquals(r.timing().processingSeconds(), staged, 0.05, "the stages add up to the whole");
  }

  @Test
  void honoursTheRequestedCount() throws Exception {
    List<Turn> truth = new ArrayList<>();
    float[] x = conversation(truth);
    assertEquals(1, pipeline.diarize(x, new DiarizationOptions(1, null, null), null).speakers().size());
    assertEquals(3, pipeline.diarize(x, new DiarizationOptions(null, 3, null), null).speakers().size());
    assertEquals(1, pipeline.diarize(x, new DiarizationOptions(null, null, 1), null).speakers().size());
    DiarizationResult three = pipeline.diarize(x, new DiarizationOptions(3, null, null), null);
    assertEquals(List.of(), three.warnings());
    assertEquals(3, three.speakers().size(), "exactly the count asked for, not more (a review)");
  }

  /** More speakers than the speech splits into: the result says so instead of quietly giving fewer. */
  @Test
  void saysWhenItFindsFewerSpeakersThanAskedFor() throws Exception {
    float[] x = conversation(new ArrayList<>());
    DiarizationResult r = pipeline.diarize(x, new DiarizationOptions(1000, null, null), null);
    assertTrue(r.speakers().size() < 1000);
    assertEquals(List.of("asked for 1000 speakers, found " + r.speakers().size()
        + ": the recording's speech did not split into more"), r.warnings());
    DiarizationResult atLeast = pipeline.diarize(x, new DiarizationOptions(null, 1000, null), null);
    assertEquals(List.of("asked for at least 1000 speakers, found " + atLeast.speakers().size()
        + ": the recording's speech did not split into more"), atLeast.warnings());
  }

  @Test
  void oneVoiceIsOneSpeaker() throws Exception {
    float[] x = Signals.concat(a(6, 7), Signals.silence(1), a(6, 8), Signals.silence(1), a(4, 9));
    x = Signals.mix(x, Signals.noise(x.length / 16000.0, 0.001, 5));
    DiarizationResult r = pipeline.diarize(x, DiarizationOptions.NONE, null);
    assertEquals(1, r.speakers().size(), "segments " + r.segments());
  }

  @Test
  void silenceHasNoSpeakers() throws Exception {
    DiarizationResult r = pipeline.diarize(Signals.silence(600), DiarizationOptions.NONE, null);
    assertEquals(0, r.speakers().size());
    assertTrue(r.segments().isEmpty());
    assertEquals("", r.toRttm("x"));
    assertEquals(600, r.timing().audioSeconds(), 1e-9);
    assertEquals(List.of(), r.warnings());
    assertEquals(List.of("asked for 2 speakers, found none: the recording has no speech"),
        pipeline.diarize(Signals.silence(5), new DiarizationOptions(2, null, null), null).warnings());
  }

  /** A review: the silence test was digital zeros, which no detector can mistake; a quiet room with mains hum is harder. */
  @Test
  void roomNoiseWithHumHasNoSpeakers() throws Exception {
    float[] room = Signals.noise(120, 0.003, 7);
    for (int i = 0; i < room.length; i++) {
      double t = i / 16000.0;
      room[i] += (float) (0.01 * Math.sin(2 * Math.PI * 50 * t) + 0.004 * Math.sin(2 * Math.PI * 150 * t));
    }
    DiarizationResult r = pipeline.diarize(room, DiarizationOptions.NONE, null);
    assertEquals(0, r.speakers().size(), r.segments().toString());
  }

  @Test
  void subSecondClipIsAClearNonRetryableError() {
    DiarizationException e = assertThrows(DiarizationException.class,
        () -> pipeline.diarize(a(0.6, 1), DiarizationOptions.NONE, null));
    assertFalse(e.retryable());
    assertTrue(e.getMessage().contains("too short"), e.getMessage());
  }

  @Test
  void fileThatIsNotAudioIsANonRetryableError() throws Exception {
    Path f = Files.writeString(dir.resolve("agenda.wav"), "1. welcome\n2. budget\n");
    DiarizationException e = assertThrows(DiarizationException.class,
        () -> pipeline.diarize(f, DiarizationOptions.NONE, Diarizer.ProgressListener.NONE));
    assertFalse(e.retryable());
    Path empty = Files.createFile(dir.resolve("empty.webm"));
    DiarizationException e2 = assertThrows(DiarizationException.class,
        () -> pipeline.diarize(empty, DiarizationOptions.NONE, null));
    assertFalse(e2.retryable());
    assertTrue(e2.getMessage().contains("empty"), e2.getMessage());
  }

  @Test
  void concurrentCallsGiveTheSameAnswer() throws Exception {
    List<Turn> truth = new ArrayList<>();
    float[] x = conversation(truth);
    DiarizationResult alone = pipeline.diarize(x, DiarizationOptions.NONE, null);
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      List<Future<DiarizationResult>> fs = new ArrayList<>();
      for (int i = 0; i < 3; i++) fs.add(pool.submit(() -> pipeline.diarize(x, DiarizationOptions.NONE, null)));
      for (Future<DiarizationResult> f : fs) assertEquals(alone.segments(), f.get().segments());
    } finally {
      pool.shutdownNow();
    }
  }
}
