package dev.parley.gpu.pipeline.vad;

import static dev.parley.gpu.pipeline.audio.AudioDecoder.SAMPLE_RATE;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import dev.parley.gpu.pipeline.DiarizationException;
import dev.parley.gpu.pipeline.ModelVersion;
import dev.parley.gpu.pipeline.Parallel;
import dev.parley.gpu.pipeline.PipelineParams;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Silero VAD (v5 and later, TorchScript, MIT) run through DJL's PyTorch engine: {@code
 * audio_forward(x[1, samples], 16000)} steps the model through a recording's 32 ms chunks inside
 * TorchScript and gives a speech probability for each. To use the cores, a recording is cut into
 * up to {@code sileroStreams} consecutive parts shared out over threads (each part first re-reads
 * {@code sileroWarmupSeconds} before its start, so its state is warm where its scores begin); a
 * thread runs its parts one by one, never as one batch (see {@link #runParts}).
 *
 * <p>The scripted module is stateful, so each thread borrows a module of its own from a small pool
 * (loading another when all are busy). Runs on the CPU: the network is tiny and sequential. Its
 * ops are too small to gain from libtorch's intra-op threads (under CPU contention they cost
 * 10–30×), which is why loading it sets libtorch to one intra-op thread ({@link
 * Parallel#singleThreadedTorch}).
 */
public final class SileroVad implements VoiceActivityDetector {
  private static final Logger log = LoggerFactory.getLogger(SileroVad.class);

  static final int CHUNK = 512;

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
    // a TorchScript file of another kind loads as well; find out now, not at every job
    try (NDManager probe = m.getNDManager().newSubManager(); IValue sr = IValue.from((long) SAMPLE_RATE)) {
      JniUtils.setGradMode(false);
      forwardPart((PtSymbolBlock) m.getBlock(), probe, new float[CHUNK], sr);
    } catch (RuntimeException e) {
      vad.close();
      String why = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
      throw new IllegalArgumentException(file + " is not a Silero VAD (v5 or later): audio_forward(x, 16000) failed: "
          + why, e);
    }
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
  public double turnPadSeconds() {
    return params.sileroTurnPadSeconds();
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
        params.minSpeechSeconds(), params.minSilenceSeconds());
  }

  /** Speech probability of each 512-sample chunk (the last one zero-padded). */
  float[] chunkProbabilities(float[] samples) throws DiarizationException {
    if (closed) throw new DiarizationException("the VAD is closed", true);
    return run(samples);
  }

  private float[] run(float[] samples) throws DiarizationException {
    int chunks = Math.max(1, (samples.length + CHUNK - 1) / CHUNK);
    int warm = (int) Math.ceil(params.sileroWarmupSeconds() * SAMPLE_RATE / CHUNK);
    // at least eight warm-ups' worth of audio per part, so the warm-up stays a small overhead
    int parts = Math.max(1, Math.min(params.sileroStreams(), chunks / Math.max(1, 8 * warm)));
    int per = (chunks + parts - 1) / parts;
    int lead = parts > 1 ? warm : 0; // part p reads from p*per - lead; its first lead chunks only warm up
    float[] prob = new float[chunks];
    // the parts are shared out over threads, each thread running its parts one by one on its own module
    int groups = Math.max(1, Math.min(threads, parts));
    List<Parallel.Task<Void>> tasks = new ArrayList<>();
    for (int g = 0; g < groups; g++) {
      int p0 = g * parts / groups;
      int p1 = (g + 1) * parts / groups;
      tasks.add(() -> {
        runParts(samples, p0, p1, per, lead, chunks, prob);
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
   * Runs parts {@code [p0, p1)} one after another on a borrowed module, each in one call of the
   * model's {@code audio_forward(x[1, samples], sr)}, which resets the state and steps through
   * the part's 512-sample chunks inside TorchScript.
   *
   * <p>Parts are never stacked into one batch: with a batch of two or more, libtorch routes the
   * model's convolutions through oneDNN, and on this project's machines batched runs gave NaN for
   * whole runs at a time (94 of 100 forty-second recordings at batch 4 on one thread, none of 100
   * at batch 1; {@code VadSharedDataTest.sileroScoresAreFiniteOnFreshModulesWithSeveralParts}). A
   * part that still gives NaN is run again, up to {@value #ATTEMPTS} times.
   */
  private void runParts(float[] samples, int p0, int p1, int per, int lead, int chunks, float[] prob)
      throws DiarizationException {
    Model model = borrow();
    try (NDManager manager = model.getNDManager().newSubManager(); IValue sr = IValue.from((long) SAMPLE_RATE)) {
      PtSymbolBlock block = (PtSymbolBlock) model.getBlock();
      JniUtils.setGradMode(false);
      float[] part = new float[(per + lead) * CHUNK];
      for (int p = p0; p < p1; p++) {
        DiarizationException.throwIfInterrupted("voice activity detection"); // between parts, a native call each
        fill(samples, ((long) p * per - lead) * CHUNK, part);
        float[] out = forwardPart(block, manager, part, sr);
        for (int attempt = 2; out == null; attempt++) {
          if (attempt > ATTEMPTS) {
            throw new DiarizationException("Silero VAD returned NaN scores in " + ATTEMPTS + " runs in a row", true);
          }
          log.warn("Silero VAD returned NaN in part {}; running it again", p);
          out = forwardPart(block, manager, part, sr);
        }
        for (int own = 0; own < per; own++) {
          long chunk = (long) p * per + own;
          if (chunk >= chunks) break;
          prob[(int) chunk] = out[lead + own];
        }
      }
    } catch (RuntimeException e) {
      throw new DiarizationException("Silero VAD failed: " + e.getMessage(), true, e);
    } finally {
      release(model);
    }
  }

  private static final int ATTEMPTS = 3;

  /** The part's chunk scores, or null when any is NaN. */
  private static float[] forwardPart(PtSymbolBlock block, NDManager manager, float[] part, IValue sr) {
    try (NDManager call = manager.newSubManager()) {
      PtNDArray x = (PtNDArray) call.create(part, new Shape(1, part.length));
      float[] out;
      try (IValue in = IValue.from(x); IValue res = IValueUtils.runMethod(block, "audio_forward", in, sr)) {
        out = res.toTensor((PtNDManager) call).toFloatArray();
      }
      for (float o : out) if (Float.isNaN(o)) return null;
      return out;
    }
  }

  /** Copies {@code samples[start, start + into.length)} into {@code into}, zeros outside the signal. */
  private static void fill(float[] samples, long start, float[] into) {
    for (int i = 0; i < into.length; i++) {
      long k = start + i;
      into[i] = k >= 0 && k < samples.length ? samples[(int) k] : 0f;
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
