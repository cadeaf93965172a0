package dev.parley.gpu.pipeline.vad;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.convolutional.Conv1d;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.parley.gpu.pipeline.features.Fbank;
import java.util.ArrayList;
import java.util.List;

/**
 * Parley's speech detector network: dilated 1-D convolutions over log-mel frames (ReLU then batch
 * norm), one speech logit per frame. Input {@code [batch, frames, 160]} from {@link #features};
 * output {@code [batch, frames]}. The receptive field is {@link #RECEPTIVE_FIELD} frames (about
 * 0.6 s) and convolutions are zero-padded, so any length works.
 */
public final class VadNet extends AbstractBlock {
  private static final byte VERSION = 1;

  /** Input channels: 80 log-mels relative to their sliding mean, then the 80 absolute ones. */
  public static final int INPUT = 2 * Fbank.NUM_BINS;

  /** Frames on each side of the sliding mean ({@link #features}): 2 s either way. */
  public static final int MEAN_HALF_WINDOW = 200;

  /** (kernel, dilation) of the hidden convolutions. */
  private static final int[][] LAYERS = {{5, 1}, {3, 2}, {3, 4}, {3, 8}, {3, 16}};

  public static final int RECEPTIVE_FIELD = 1 + 4 + 2 * (2 + 4 + 8 + 16);

  private final int channels;
  private final List<Conv1d> convs = new ArrayList<>();
  private final List<BatchNorm> norms = new ArrayList<>();
  private final Conv1d out;

  public VadNet(int channels) {
    super(VERSION);
    this.channels = channels;
    for (int i = 0; i < LAYERS.length; i++) {
      int k = LAYERS[i][0];
      int d = LAYERS[i][1];
      convs.add(addChildBlock("conv" + i, Conv1d.builder()
          .setKernelShape(new Shape(k)).optDilation(new Shape(d)).optPadding(new Shape((k - 1) / 2 * d))
          .setFilters(channels).build()));
      norms.add(addChildBlock("bn" + i, BatchNorm.builder().optAxis(1).build()));
    }
    out = addChildBlock("out", Conv1d.builder().setKernelShape(new Shape(1)).setFilters(1).build());
  }

  public int channels() {
    return channels;
  }

  /**
   * The network's input for {@code [frames, 80]} log-mels given row-major in {@code logMel}: per
   * frame, the log-mels minus their mean over the surrounding ±{@link #MEAN_HALF_WINDOW} frames
   * (level- and channel-free), then the log-mels divided by 10 (the absolute level).
   */
  public static float[] features(float[] logMel, int frames) {
    int b = Fbank.NUM_BINS;
    double[] prefix = new double[(frames + 1) * b];
    for (int t = 0; t < frames; t++) {
      for (int j = 0; j < b; j++) prefix[(t + 1) * b + j] = prefix[t * b + j] + logMel[t * b + j];
    }
    float[] out = new float[frames * INPUT];
    for (int t = 0; t < frames; t++) {
      int lo = Math.max(0, t - MEAN_HALF_WINDOW);
      int hi = Math.min(frames, t + MEAN_HALF_WINDOW + 1);
      for (int j = 0; j < b; j++) {
        double mean = (prefix[hi * b + j] - prefix[lo * b + j]) / (hi - lo);
        float v = logMel[t * b + j];
        out[t * INPUT + j] = (float) (v - mean);
        out[t * INPUT + b + j] = v / 10f;
      }
    }
    return out;
  }

  @Override
  protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray x = inputs.singletonOrThrow();
    if (x.getShape().dimension() != 3 || x.getShape().get(2) != INPUT) {
      throw new IllegalArgumentException("expected [batch, frames, " + INPUT + "], got " + x.getShape());
    }
    x = x.transpose(0, 2, 1);
    for (int i = 0; i < convs.size(); i++) {
      x = convs.get(i).forward(ps, new NDList(x), training).singletonOrThrow();
      x = norms.get(i).forward(ps, new NDList(Activation.relu(x)), training).singletonOrThrow();
    }
    NDArray logits = out.forward(ps, new NDList(x), training).singletonOrThrow();
    return new NDList(logits.squeeze(1));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputs) {
    return new Shape[] {new Shape(inputs[0].get(0), inputs[0].get(1))};
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    Shape s = new Shape(inputShapes[0].get(0), inputShapes[0].get(2), inputShapes[0].get(1));
    for (int i = 0; i < convs.size(); i++) {
      convs.get(i).initialize(manager, dataType, s);
      s = convs.get(i).getOutputShapes(new Shape[] {s})[0];
      norms.get(i).initialize(manager, dataType, s);
    }
    out.initialize(manager, dataType, s);
  }
}
