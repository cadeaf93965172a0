package dev.parley.gpu.pipeline.vad;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.training.ParameterStore;
import dev.parley.gpu.pipeline.DiarizationException;
import dev.parley.gpu.pipeline.ModelWeights;
import dev.parley.gpu.pipeline.PipelineParams;
import dev.parley.gpu.pipeline.features.Fbank;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The default VAD: Parley's own {@link VadNet}, trained by {@code train-vad} and shipped in the
 * jar ({@code models/parley-vad/}), run by DJL on the pipeline's device. Log-mel features are
 * computed and scored in blocks of about a minute with enough context on both sides that block
 * edges change nothing, so memory stays flat on long recordings. Per-frame speech probabilities
 * become a {@link SpeechMask} with the same hysteresis and smoothing as the other detectors.
 * The same network trained on "two or more talkers" ({@link #OVERLAP_ID}) is the pipeline's
 * overlapped-speech detector. Thread-safe: each call has its own NDManager; the weights are
 * read-only.
 */
public final class NeuralVad implements VoiceActivityDetector {
  public static final String ID = "parley-vad";

  /** Parley's overlapped-speech detector: the same network trained on "two or more talkers". */
  public static final String OVERLAP_ID = "parley-osd";

  /** How {@code PARLEY_VAD_MODEL} names this detector. */
  public static final String NAME = "parley";

  /** Frames scored per forward pass. */
  static final int BLOCK_FRAMES = 6000;

  /** Extra frames on each side of a block: the sliding mean's window plus the receptive field. */
  static final int CONTEXT = VadNet.MEAN_HALF_WINDOW + VadNet.RECEPTIVE_FIELD;

  private final PipelineParams.Vad params;
  private final Fbank fbank;
  private final NDManager manager;
  private final VadNet net;
  private final String version;
  private final String id;
  /**
   * {@link Fbank#noiseFloor}, {@code [80]} on {@link #manager}: without it, audio band-limited by its
   * source had most of its silence called speech (ami-dev resampled through 8 kHz: 37.6 % false
   * alarm, 5.4 % with it; docs/VAD_MODEL_CARD.md, "Band-limited input").
   */
  private final NDArray floor;

  private NeuralVad(String id, ModelWeights weights, PipelineParams.Vad params, Device device)
      throws IOException, MalformedModelException {
    this.id = id;
    this.params = params;
    this.version = weights.version();
    this.manager = NDManager.newBaseManager(device);
    this.fbank = new Fbank(device);
    try {
      this.net = new VadNet(Integer.parseInt(weights.properties().getProperty("channels")));
      weights.loadInto(net, manager, new Shape(1, 100, VadNet.INPUT));
      this.floor = fbank.noiseFloor(manager);
    } catch (IOException | MalformedModelException | RuntimeException e) {
      fbank.close();
      manager.close();
      throw e;
    }
  }

  /** The committed speech detector from the classpath. */
  public static NeuralVad load(PipelineParams.Vad params, Device device) {
    return loadResource(ID, params, device);
  }

  /** Committed weights {@code models/ID/ID.params} from the classpath ({@link #ID} or {@link #OVERLAP_ID}). */
  public static NeuralVad loadResource(String id, PipelineParams.Vad params, Device device) {
    ModelWeights w = ModelWeights.resource("models/" + id + "/", id + ".params", "the " + id + " weights are not on the classpath");
    try {
      return new NeuralVad(id, w, params, device);
    } catch (IOException | MalformedModelException e) {
      throw new IllegalStateException("cannot load the " + id + " weights", e);
    }
  }

  /** Weights a {@code train-vad} run wrote into {@code dir} (for trying a freshly trained model). */
  public static NeuralVad loadDirectory(Path dir, PipelineParams.Vad params, Device device) {
    String id = Files.exists(dir.resolve(OVERLAP_ID + ".params")) ? OVERLAP_ID : ID;
    ModelWeights w = ModelWeights.directory(dir, id + ".params", "a train-vad output");
    try {
      return new NeuralVad(id, w, params, device);
    } catch (IOException | MalformedModelException e) {
      throw new IllegalArgumentException("cannot load the VAD weights in " + dir + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String version() {
    return version;
  }

  /** Speech probability of each 10 ms frame. */
  public float[] probabilities(float[] samples) throws DiarizationException {
    return probabilities(samples, BLOCK_FRAMES);
  }

  float[] probabilities(float[] samples, int blockFrames) throws DiarizationException {
    int maskFrames = SpeechMask.frameCount(samples.length);
    int frames = Fbank.frameCount(samples.length);
    float[] fbankProb = new float[frames];
    try (NDManager call = manager.newSubManager()) {
      for (int f0 = 0; f0 < frames; f0 += blockFrames) {
        DiarizationException.throwIfInterrupted(id()); // between blocks, a minute of audio each
        int f1 = Math.min(frames, f0 + blockFrames);
        int c0 = Math.max(0, f0 - CONTEXT);
        int c1 = Math.min(frames, f1 + CONTEXT);
        try (NDManager block = call.newSubManager()) {
          int from = c0 * Fbank.FRAME_SHIFT;
          int to = (c1 - 1) * Fbank.FRAME_SHIFT + Fbank.FRAME_LENGTH;
          float[] mel = Fbank.withNoiseFloor(fbank.compute(samples, from, to, block), floor).toFloatArray();
          int n = c1 - c0;
          NDArray in = block.create(VadNet.features(mel, n), new Shape(1, n, VadNet.INPUT));
          NDArray logits = net.forward(new ParameterStore(block, false), new NDList(in), false).singletonOrThrow();
          float[] p = Activation.sigmoid(logits).toFloatArray();
          for (float v : p) {
            // NaN would read as "no speech" and go unnoticed; fail the attempt so the job is retried
            if (Float.isNaN(v)) throw new DiarizationException(id() + " gave NaN scores", true);
          }
          System.arraycopy(p, f0 - c0, fbankProb, f0, f1 - f0);
        }
      }
    }
    // fbank frame f is centred on sample 160 f + 200, inside 10 ms frame f + 1
    float[] prob = new float[maskFrames];
    for (int i = 0; i < maskFrames && frames > 0; i++) prob[i] = fbankProb[Math.max(0, Math.min(frames - 1, i - 1))];
    return prob;
  }

  @Override
  public double turnPadSeconds() {
    return params.neuralTurnPadSeconds();
  }

  @Override
  public SpeechMask detect(float[] samples) throws DiarizationException {
    SpeechMask mask = SpeechMask.fromScores(probabilities(samples), params.neuralOnset(), params.neuralOffset(),
        params.minSpeechSeconds(), params.minSilenceSeconds());
    return Voicing.voicedOnly(samples, mask, params.neuralVoicedThreshold(), params.neuralMinVoicedFraction(),
        params.padSeconds());
  }


  @Override
  public void close() {
    fbank.close();
    manager.close();
  }
}
