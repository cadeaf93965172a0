package dev.parley.gpu.pipeline;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.parley.gpu.embedding.EmbeddingModels;
import dev.parley.gpu.embedding.SpeakerEmbeddingModel;
import dev.parley.gpu.pipeline.audio.AudioDecodeException;
import dev.parley.gpu.pipeline.audio.AudioDecoder;
import dev.parley.gpu.pipeline.audio.DecodedAudio;
import dev.parley.gpu.pipeline.clustering.Clustering;
import dev.parley.gpu.pipeline.clustering.SpeakerClusterer;
import dev.parley.gpu.pipeline.features.Fbank;
import dev.parley.gpu.pipeline.segmentation.FrameLabeler;
import dev.parley.gpu.pipeline.vad.EnergyVad;
import dev.parley.gpu.pipeline.vad.NeuralVad;
import dev.parley.gpu.pipeline.vad.SileroVad;
import dev.parley.gpu.pipeline.vad.SpeechMask;
import dev.parley.gpu.pipeline.vad.VoiceActivityDetector;
import dev.parley.gpu.pipeline.windows.SpeechWindows;
import dev.parley.gpu.pipeline.windows.Window;
import dev.parley.gpu.pipeline.windows.WindowEmbedder;
import dev.parley.protocol.DiarizationOptions;
import dev.parley.protocol.DiarizationResult;
import dev.parley.protocol.Segment;
import dev.parley.protocol.SpeakerSummary;
import dev.parley.protocol.Timing;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Parley's diarization pipeline: decode → voice activity detection → log-mel features →
 * window embeddings → clustering → turns at 10 ms. Each stage has one job and reads its own part
 * of {@link PipelineParams}. Thread-safe: the stages hold only immutable or pooled state and every
 * call works in its own NDManager, closed when the call ends.
 */
public final class DiarizationPipeline implements Diarizer {
  private static final Logger log = LoggerFactory.getLogger(DiarizationPipeline.class);
  public static final String PIPELINE_VERSION = "11";

  private final VoiceActivityDetector vad;
  private final SpeakerEmbeddingModel model;
  private final Fbank fbank;
  private final PipelineParams params;
  private final Device device;
  private final WindowEmbedder embedder;
  private final SpeakerClusterer clusterer;
  private final FrameLabeler labeler;
  private final NeuralVad overlap;

  /** Composes ready stages (one thread per processor); the pipeline owns and closes them. */
  public DiarizationPipeline(VoiceActivityDetector vad, SpeakerEmbeddingModel model, Fbank fbank, PipelineParams params) {
    this(vad, model, fbank, params, 0);
  }

  /** @param threads worker threads per recording for embedding (0: one per processor) */
  public DiarizationPipeline(VoiceActivityDetector vad, SpeakerEmbeddingModel model, Fbank fbank, PipelineParams params,
      int threads) {
    this(vad, model, fbank, params, threads, null);
  }

  /**
   * @param overlap overlapped-speech detector ({@code parley-osd}) that adds a second speaker where
   *     two talk at once, or null for one speaker per frame
   */
  public DiarizationPipeline(VoiceActivityDetector vad, SpeakerEmbeddingModel model, Fbank fbank, PipelineParams params,
      int threads, NeuralVad overlap) {
    this.overlap = overlap;
    this.vad = vad;
    this.model = model;
    this.fbank = fbank;
    this.params = params;
    this.device = fbank.device();
    this.embedder = new WindowEmbedder(fbank, model, params.embedding(), threads);
    this.clusterer = new SpeakerClusterer(params.clustering());
    this.labeler = new FrameLabeler(params.segmentation());
  }

  /**
   * The VAD {@code spec} names: empty or {@code parley} for Parley's own {@link NeuralVad},
   * {@code energy} for the {@link EnergyVad}, a directory holding {@code parley-vad.params} and
   * {@code model.properties} for other {@link NeuralVad} weights, any other path for a Silero
   * TorchScript file.
   */
  static VoiceActivityDetector vad(String spec, PipelineParams.Vad params, int threads, Device device) {
    if (spec.isEmpty() || spec.equals(NeuralVad.NAME)) return NeuralVad.load(params, device);
    if (spec.equals(EnergyVad.NAME)) return new EnergyVad(params);
    Path path = Path.of(spec);
    if (Files.isDirectory(path)) return NeuralVad.loadDirectory(path, params, device);
    return SileroVad.load(path, params, threads);
  }

  /**
   * Builds the pipeline from typed settings: the VAD {@code vadModel} names (see {@link #vad};
   * Parley's own by default), the speaker model {@code embeddingModel} names (see {@link
   * dev.parley.gpu.embedding.EmbeddingModels#load}: Parley's committed model by default), on the requested device. Nothing is downloaded.
   *
   * <p>Unless {@code ai.djl.pytorch.num_threads} is set, libtorch's intra-op thread count is set
   * to 1 for the process: the pipeline's ops are small (Silero VAD works on 32 ms chunks) and
   * libtorch's OpenMP threads cost more than they gain, ruinously so when other processes share
   * the cores. The pipeline uses the cores itself instead ({@code settings.threads()}).
   *
   * @throws IllegalArgumentException when a named model cannot be loaded
   */
  public static DiarizationPipeline create(PipelineSettings settings, PipelineParams params) {
    System.setProperty("ai.djl.offline", "true");
    Engine engine = Engine.getEngine("PyTorch");
    Parallel.singleThreadedTorch();
    Device device = switch (settings.device()) {
      case "cpu" -> Device.cpu();
      case "gpu" -> {
        if (engine.getGpuCount() == 0) {
          throw new IllegalArgumentException("device gpu was asked for (PARLEY_DEVICE or --device), but DJL sees no CUDA GPU;"
              + " use auto or cpu, or a build with CUDA natives (mvn -Pcuda)");
        }
        yield Device.gpu();
      }
      default -> engine.defaultDevice();
    };
    VoiceActivityDetector vad = vad(settings.vadModel(), params.vad(), settings.threads(), device);
    SpeakerEmbeddingModel model = null;
    Fbank fb = null;
    try {
      model = EmbeddingModels.load(settings.embeddingModel(), device);
      fb = new Fbank(device);
      log.info("diarization pipeline ready: vad={} ({}), embedding={} ({}), device={}",
          vad.id(), vad.version(), model.id(), model.version(), device);
      NeuralVad osd = params.segmentation().overlapOnset() <= 1
          ? NeuralVad.loadResource(NeuralVad.OVERLAP_ID, params.vad(), device) : null;
      return new DiarizationPipeline(vad, model, fb, params, settings.threads(), osd);
    } catch (RuntimeException e) {
      vad.close();
      if (model != null) model.close();
      if (fb != null) fb.close();
      throw e;
    }
  }

  public static DiarizationPipeline create(PipelineSettings settings) {
    return create(settings, PipelineParams.defaults());
  }

  /** Model identifiers and versions recorded with every result. */
  public Map<String, String> models() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("pipeline", "parley-diarization");
    m.put("pipeline.version", PIPELINE_VERSION);
    m.put("vad", vad.id());
    m.put("vad.version", vad.version());
    m.put("embedding", model.id());
    m.put("embedding.version", model.version());
    if (overlap != null) {
      m.put("overlap", overlap.id());
      m.put("overlap.version", overlap.version());
    }
    return m;
  }

  @Override
  public DiarizationResult diarize(Path audio, DiarizationOptions options, ProgressListener progress)
      throws DiarizationException {
    long t0 = System.nanoTime();
    progress = progress == null ? ProgressListener.NONE : progress;
    options = options == null ? DiarizationOptions.NONE : options;
    progress.progress("decoding", 0.0);
    DecodedAudio decoded;
    try {
      decoded = AudioDecoder.read(audio);
    } catch (AudioDecodeException e) {
      throw new DiarizationException(e.getMessage(), e.retryable(), e);
    }
    return diarize(decoded.samples(), options, progress, t0).withWarnings(decoded.warnings());
  }

  /** Diarizes decoded 16 kHz mono samples (as {@link AudioDecoder} gives them). */
  public DiarizationResult diarize(float[] samples, DiarizationOptions options, ProgressListener progress)
      throws DiarizationException {
    return diarize(samples, options == null ? DiarizationOptions.NONE : options,
        progress == null ? ProgressListener.NONE : progress, System.nanoTime());
  }

  private DiarizationResult diarize(float[] samples, DiarizationOptions options, ProgressListener progress, long t0)
      throws DiarizationException {
    double audioSeconds = samples.length / (double) AudioDecoder.SAMPLE_RATE;
    if (audioSeconds < params.segmentation().minAudioSeconds()) {
      throw new DiarizationException(String.format(Locale.ROOT,
          "the recording is too short to diarize: %.2f s (at least %.1f s needed)",
          audioSeconds, params.segmentation().minAudioSeconds()), false);
    }
    StageClock clock = new StageClock(t0);
    clock.lap("decode");
    progress.progress("vad", 0.10);
    SpeechMask speech = vad.detect(samples);
    clock.lap("vad");
    Labelling l = embedAndLabel(samples, speech, options, progress, clock);
    List<String> names = new ArrayList<>();
    for (int k = 0; k < l.centroids().length; k++) names.add(String.format(Locale.ROOT, "SPEAKER_%02d", k));
    List<Segment> segments = FrameLabeler.segments(l.frameLabels(), names, params.segmentation().changeOverlapSeconds());
    if (overlap != null && names.size() >= 2) {
      segments = withOverlapTurns(samples, segments, l.frameLabels(), names);
      clock.lap("overlap");
    }
    segments = withinAudio(segments, audioSeconds);
    List<SpeakerSummary> speakers = speakerSummaries(segments, names, l.centroids());
    double processing = (System.nanoTime() - t0) / 1e9;
    log.debug("diarized {} s of audio in {} s: {} windows, {} speakers; stages {}",
        String.format(Locale.ROOT, "%.1f", audioSeconds), String.format(Locale.ROOT, "%.2f", processing),
        l.windows(), speakers.size(), clock.seconds());
    progress.progress("done", 1.0);
    Timing timing = new Timing(audioSeconds, processing, audioSeconds > 0 ? processing / audioSeconds : 0,
        device.toString(), clock.seconds());
    return new DiarizationResult(segments, speakers, models(), timing).withWarnings(fewerThanAskedFor(options, speakers.size()));
  }

  /** A warning when the speech split into fewer speakers than {@code numSpeakers} or {@code minSpeakers} asked for. */
  private static List<String> fewerThanAskedFor(DiarizationOptions options, int found) {
    boolean exact = options.numSpeakers() != null;
    Integer wanted = exact ? options.numSpeakers() : options.minSpeakers();
    if (wanted == null || found >= wanted) return List.of();
    String asked = String.format(Locale.ROOT, "asked for %s%d speakers", exact ? "" : "at least ", wanted);
    return List.of(found == 0 ? asked + ", found none: the recording has no speech"
        : asked + ", found " + found + ": the recording's speech did not split into more");
  }

  /** Each 10 ms frame's speaker (-1: none), the speakers' centroids, and how many windows were embedded. */
  private record Labelling(int[] frameLabels, float[][] centroids, int windows) {}

  /**
   * Embeds the speech windows, clusters them into speakers and labels every speech frame with one.
   * Windows and labels reach {@code vad.padSeconds} beyond each speech run, as context for the
   * embeddings; the turns reach the VAD's own {@link VoiceActivityDetector#turnPadSeconds} (at most
   * as far).
   */
  private Labelling embedAndLabel(float[] samples, SpeechMask speech, DiarizationOptions options,
      ProgressListener progress, StageClock clock) throws DiarizationException {
    SpeechMask mask = speech.padded(params.vad().padSeconds());
    SpeechMask turns = speech.padded(vad.turnPadSeconds());
    List<Window> windows = SpeechWindows.plan(mask, params.embedding());
    if (windows.isEmpty()) {
      int[] none = new int[mask.length()];
      Arrays.fill(none, -1);
      return new Labelling(none, new float[0][], 0);
    }
    float[][] emb;
    try (NDManager manager = NDManager.newBaseManager(device)) {
      progress.progress("embedding", 0.30);
      emb = embedder.embed(samples, windows, manager,
          f -> progress.progress("embedding", Math.min(0.85, 0.30 + 0.55 * f)));
      clock.lap("features+embedding");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DiarizationException("interrupted during speaker embedding", true, e);
    } catch (Exception e) {
      // retried as a job's failure, which logs one line: the trace of what failed (a defect, a native
      // fault) is logged here (a review: operators read "speaker embedding failed: null" and nothing else)
      log.warn("speaker embedding failed", e);
      throw new DiarizationException("speaker embedding failed: " + e, true, e);
    }
    progress.progress("clustering", 0.85);
    double[] weights = new double[windows.size()];
    for (int i = 0; i < weights.length; i++) weights[i] = windows.get(i).weight();
    Clustering c = clusterer.cluster(emb, weights, options.numSpeakers(), options.minSpeakers(), options.maxSpeakers());
    clock.lap("clustering");
    progress.progress("segmentation", 0.95);
    int[] frameLabels = labeler.label(mask, windows, emb, c.centroids());
    for (int f = 0; f < frameLabels.length; f++) if (!turns.isSpeech(f)) frameLabels[f] = -1;
    float[][] centroids = relabelByFirstTurn(frameLabels, c.centroids());
    clock.lap("segmentation");
    return new Labelling(frameLabels, centroids, windows.size());
  }

  /** {@code segments} plus a second speaker's turns where the overlap detector hears two at once. */
  private List<Segment> withOverlapTurns(float[] samples, List<Segment> segments, int[] frameLabels, List<String> names)
      throws DiarizationException {
    PipelineParams.Segmentation s = params.segmentation();
    SpeechMask overlapped = SpeechMask.fromScores(overlap.probabilities(samples), s.overlapOnset(), s.overlapOffset(),
        s.minOverlapSeconds(), s.overlapMinSilenceSeconds(), s.overlapPadSeconds());
    List<Segment> out = new ArrayList<>(segments);
    out.addAll(FrameLabeler.segments(FrameLabeler.secondSpeaker(frameLabels, overlapped, names.size()), names));
    out.sort((x, y) -> Double.compare(x.start(), y.start()));
    return out;
  }

  /** Talk time and centroid of each speaker; a cluster that lost all its frames is no speaker. */
  private static List<SpeakerSummary> speakerSummaries(List<Segment> segments, List<String> names, float[][] centroids) {
    double[] talk = new double[names.size()];
    for (Segment s : segments) talk[names.indexOf(s.speaker())] += s.duration();
    List<SpeakerSummary> speakers = new ArrayList<>();
    for (int k = 0; k < names.size(); k++) {
      if (talk[k] > 0) speakers.add(new SpeakerSummary(names.get(k), Math.round(talk[k] * 100) / 100.0, centroids[k]));
    }
    return speakers;
  }

  /**
   * Segments cut at the end of the audio: the last 10 ms frame may reach past it (a 30.00006 s file
   * has 3001 frames). A turn left shorter than half a frame by the cut is dropped: RTTM would print
   * it with a duration of 0.000.
   */
  static List<Segment> withinAudio(List<Segment> segments, double audioSeconds) {
    List<Segment> out = new ArrayList<>(segments.size());
    for (Segment s : segments) {
      if (s.end() <= audioSeconds) out.add(s);
      else if (audioSeconds - s.start() >= 0.005) out.add(new Segment(s.start(), audioSeconds, s.speaker()));
    }
    return out;
  }

  /**
   * Renumbers speakers in order of their first turn (SPEAKER_00 speaks first), dropping clusters
   * without frames; rewrites {@code labels} in place and returns the centroids in the new order.
   */
  static float[][] relabelByFirstTurn(int[] labels, float[][] centroids) {
    int[] map = new int[centroids.length];
    Arrays.fill(map, -1);
    List<float[]> ordered = new ArrayList<>();
    for (int f = 0; f < labels.length; f++) {
      int l = labels[f];
      if (l < 0) continue;
      if (map[l] < 0) {
        map[l] = ordered.size();
        ordered.add(centroids[l]);
      }
      labels[f] = map[l];
    }
    return ordered.toArray(new float[0][]);
  }

  /** Seconds per stage, in the order the stages ran. */
  private static final class StageClock {
    private final Map<String, Double> seconds = new LinkedHashMap<>();
    private long last;

    StageClock(long start) {
      last = start;
    }

    void lap(String stage) {
      long now = System.nanoTime();
      seconds.put(stage, Math.round((now - last) / 1e7) / 100.0);
      last = now;
    }

    Map<String, Double> seconds() {
      return seconds;
    }
  }

  @Override
  public void close() {
    if (overlap != null) overlap.close();
    vad.close();
    model.close();
    fbank.close();
  }
}
