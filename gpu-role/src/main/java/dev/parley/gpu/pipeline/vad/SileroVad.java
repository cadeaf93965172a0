package dev.parley.gpu.pipeline.vad;

import dev.parley.gpu.pipeline.ModelVersion;
import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import dev.parley.gpu.pipeline.DiarizationException;
import dev.parley.gpu.pipeline.Parallel;
import dev.parley.gpu.pipeline.PipelineParams;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * Silero VAD v5 (TorchScript, MIT) run through DJL's PyTorch engine: {@code forward(chunk[B, 512],
 * 16000)} gives a speech probability per 32 ms chunk and carries its recurrent state from call to
 * call. To keep JNI calls few, a recording is cut into up to {@code sileroStreams} consecutive parts
 * that run side by side as one batch (each part first re-reads {@code sileroWarmupSeconds} before
 * its start, so its state is warm where its scores begin): an hour is about 2,000 forward calls.
 *
 * <p>The scripted module is stateful, so each call borrows a module of its own from a small pool
 * (loading another when all are busy) and calls {@code reset_states()} before every recording.
 * Runs on the CPU: the network is tiny and sequential. Its ops are too small to gain from
 * libtorch's intra-op threads (under CPU contention they cost 10–30×), which is why
 * loading it sets libtorch to one intra-op thread ({@link Parallel#singleThreadedTorch}); parts of
 * a recording run on several threads instead.
 */
public final class SileroVad implements VoiceActivityDetector {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(SileroVad.class);

  static final int CHUNK = 512;
  private static final long SAMPLE_RATE = 16_000;

  private final Path file;
  private final PipelineParams.Vad params;
  private final int threads;
  private final String version;
  private final ConcurrentLinkedDeque<Model> idle = new ConcurrentLinkedDeque<>();
  private final ConcurrentLinkedDeque<Model> all = new ConcurrentLinkedDeque<>();
  private volatile boolean closed;

  private SileroVad(Path file, PipelineParams.Vad params, int threads, String version) {
    this.file = file;
    this.params = params;
    this.threads = Parallel.threads(threads);
    this.version = version;
  }

  /** Loads the model once to check it (it stays in the pool); one thread per processor. */
  public static SileroVad load(Path file, PipelineParams.Vad params) {
    return load(file, params, 0);
  }

  /**
   * @param threads parts of a recording run on up to this many threads at once (0: one per
   *     processor)
   */
  public static SileroVad load(Path file, PipelineParams.Vad params, int threads) {
    if (!Files.isRegularFile(file)) throw new IllegalArgumentException("VAD model not found: " + file);
    System.setProperty("ai.djl.offline", "true");
    Parallel.singleThreadedTorch();
    SileroVad vad = new SileroVad(file, params, threads, ModelVersion.of(file));
    Model m = vad.loadModel();
    vad.idle.push(m);
    return vad;
  }

  private Model loadModel() {
    Model model = Model.newInstance("silero-vad", Device.cpu(), "PyTorch");
    try {
      model.load(file, null, Map.of("mapLocation", "true"));
      all.add(model);
      return model;
    } catch (IOException | MalformedModelException | RuntimeException e) {
      model.close();
      throw new IllegalArgumentException("cannot load " + file + " as a Silero VAD TorchScript model: " + e.getMessage(), e);
    }
  }

  @Override
  public String id() {
    return file.getFileName().toString();
  }

  @Override
  public String version() {
    return version;
  }

  @Override
  public SpeechMask detect(float[] samples) throws DiarizationException {
    float[] chunkProb = chunkProbabilities(samples);
    int frames = SpeechMask.frameCount(samples.length);
    float[] score = new float[frames];
    for (int f = 0; f < frames; f++) {
      int centre = f * SpeechMask.SAMPLES_PER_FRAME + SpeechMask.SAMPLES_PER_FRAME / 2;
      score[f] = chunkProb[Math.min(chunkProb.length - 1, centre / CHUNK)];
    }
    return SpeechMask.fromScores(score, params.sileroOnset(), params.sileroOffset(),
        params.minSpeechSeconds(), params.minSilenceSeconds(), params.padSeconds());
  }

  /** Speech probability of each 512-sample chunk (the last one zero-padded). */
  float[] chunkProbabilities(float[] samples) throws DiarizationException {
    if (closed) throw new DiarizationException("the VAD is closed", true);
    return run(samples);
  }

  private float[] run(float[] samples) throws DiarizationException {
    int chunks = Math.max(1, (samples.length + CHUNK - 1) / CHUNK);
    int warm = (int) Math.ceil(params.sileroWarmupSeconds() * SAMPLE_RATE / CHUNK);
    // at least ~8 s of audio per part so the warm-up stays a small overhead
    int streams = Math.max(1, Math.min(params.sileroStreams(), chunks / Math.max(1, 8 * warm)));
    int per = (chunks + streams - 1) / streams;
    int lead = streams > 1 ? warm : 0; // stream s reads from s*per - lead; the first lead steps only warm up
    float[] prob = new float[chunks];
    // groups of streams run side by side, each on its own module and thread
    int groups = Math.max(1, Math.min(threads, streams));
    List<Parallel.Task<Void>> tasks = new ArrayList<>();
    for (int g = 0; g < groups; g++) {
      int s0 = g * streams / groups;
      int s1 = (g + 1) * streams / groups;
      tasks.add(() -> {
        runStreams(samples, s0, s1, per, lead, chunks, prob);
        return null;
      });
    }
    try {
      Parallel.run(tasks);
    } catch (DiarizationException e) {
      throw e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DiarizationException("interrupted during voice activity detection", true, e);
    } catch (Exception e) {
      throw new DiarizationException("Silero VAD failed: " + e.getMessage(), true, e);
    }
    return prob;
  }

  /**
   * Runs streams {@code [s0, s1)} as one batch on a borrowed module, writing their chunks' scores.
   * libtorch on this project's 2-core VM sometimes (about one call in twenty on a 30 s recording,
   * with one thread too) returns NaN from some step on, for the rest of the run: the recurrent state
   * has gone bad. Such a run is started again from fresh states, up to {@value #ATTEMPTS} times.
   */
  private void runStreams(float[] samples, int s0, int s1, int per, int lead, int chunks, float[] prob)
      throws DiarizationException {
    for (int attempt = 1; ; attempt++) {
      int bad = runStreamsOnce(samples, s0, s1, per, lead, chunks, prob);
      if (bad < 0) return;
      if (attempt == ATTEMPTS) {
        throw new DiarizationException("Silero VAD returned NaN scores in " + ATTEMPTS + " runs in a row", true);
      }
      log.warn("Silero VAD returned NaN from step {} on (streams {}..{}); running those streams again", bad, s0, s1 - 1);
    }
  }

  private static final int ATTEMPTS = 3;

  /** One run of {@link #runStreams}; returns -1, or the first step that gave NaN (nothing written from it on). */
  private int runStreamsOnce(float[] samples, int s0, int s1, int per, int lead, int chunks, float[] prob)
      throws DiarizationException {
    int streams = s1 - s0;
    int steps = per + lead;
    Model model = borrow();
    try (NDManager manager = model.getNDManager().newSubManager()) {
      PtSymbolBlock block = (PtSymbolBlock) model.getBlock();
      JniUtils.setGradMode(false);
      IValueUtils.runMethod(block, "reset_states").close();
      float[] batch = new float[streams * CHUNK];
      try (IValue sr = IValue.from(SAMPLE_RATE)) {
        for (int t = 0; t < steps; t++) {
          for (int s = s0; s < s1; s++) {
            fill(samples, (long) s * per - lead + t, batch, (s - s0) * CHUNK);
          }
          float[] out;
          try (NDManager step = manager.newSubManager()) {
            PtNDArray x = (PtNDArray) step.create(batch, new Shape(streams, CHUNK));
            try (IValue in = IValue.from(x); IValue res = block.forward(in, sr)) {
              out = res.toTensor((ai.djl.pytorch.engine.PtNDManager) step).toFloatArray();
            }
          }
          for (float o : out) if (Float.isNaN(o)) return t;
          int own = t - lead; // index within each part's own span
          if (own < 0) continue;
          for (int s = s0; s < s1; s++) {
            long chunk = (long) s * per + own;
            if (own >= per || chunk >= chunks) continue;
            prob[(int) chunk] = out[s - s0];
          }
        }
      }
      return -1;
    } catch (RuntimeException e) {
      throw new DiarizationException("Silero VAD failed: " + e.getMessage(), true, e);
    } finally {
      release(model);
    }
  }

  private static void fill(float[] samples, long chunk, float[] batch, int at) {
    long start = chunk * CHUNK;
    for (int i = 0; i < CHUNK; i++) {
      long k = start + i;
      batch[at + i] = k >= 0 && k < samples.length ? samples[(int) k] : 0f;
    }
  }

  private Model borrow() {
    Model m = idle.poll();
    return m != null ? m : loadModel();
  }

  private void release(Model m) {
    if (closed) m.close();
    else idle.push(m);
  }


  @Override
  public void close() {
    closed = true;
    Model m;
    while ((m = all.poll()) != null) m.close();
    idle.clear();
  }
}
