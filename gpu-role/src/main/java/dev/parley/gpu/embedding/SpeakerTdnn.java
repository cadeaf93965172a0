package dev.parley.gpu.embedding;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.convolutional.Conv1d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.parley.gpu.pipeline.features.Fbank;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * Parley's speaker network: an x-vector style TDNN (five 1-D convolutions with growing dilation,
 * ReLU then batch norm), statistics pooling (mean and standard deviation over time) and a linear
 * embedding layer. Input {@code [batch, frames, 80]} mean-normalised log-mel features (see {@link
 * dev.parley.gpu.pipeline.features.Fbank#cmn}); output {@code [batch, embeddingDim]}. Convolutions
 * are zero-padded, so any number of frames {@code >= 1} is accepted; about 50 frames or more give
 * useful embeddings.
 */
public final class SpeakerTdnn extends AbstractBlock {
  private static final byte VERSION = 1;

  /** Layer sizes; kept with the weights in {@code model.properties}. */
  public record Config(int channels, int poolChannels, int embeddingDim) {
    public static final Config DEFAULT = new Config(256, 768, 192);

    public Config {
      if (channels < 1 || poolChannels < 1 || embeddingDim < 1) {
        throw new IllegalArgumentException("layer sizes must be positive");
      }
    }

    public static Config from(Properties p) {
      return new Config(
          Integer.parseInt(p.getProperty("channels", "" + DEFAULT.channels)),
          Integer.parseInt(p.getProperty("poolChannels", "" + DEFAULT.poolChannels)),
          Integer.parseInt(p.getProperty("embeddingDim", "" + DEFAULT.embeddingDim)));
    }

    public void to(Properties p) {
      p.setProperty("channels", "" + channels);
      p.setProperty("poolChannels", "" + poolChannels);
      p.setProperty("embeddingDim", "" + embeddingDim);
    }
  }

  /** (kernel, dilation) of each convolution. */
  private static final int[][] LAYERS = {{5, 1}, {3, 2}, {3, 3}, {1, 1}, {1, 1}};

  private final Config config;
  private final List<Conv1d> convs = new ArrayList<>();
  private final List<BatchNorm> norms = new ArrayList<>();
  private final Linear embedding;
  private float trainingDropout;

  public SpeakerTdnn(Config config) {
    super(VERSION);
    this.config = config;
    for (int i = 0; i < LAYERS.length; i++) {
      int k = LAYERS[i][0];
      int d = LAYERS[i][1];
      int out = i == LAYERS.length - 1 ? config.poolChannels() : config.channels();
      convs.add(
          addChildBlock(
              "conv" + i,
              Conv1d.builder()
                  .setKernelShape(new Shape(k))
                  .optDilation(new Shape(d))
                  .optPadding(new Shape((k - 1) / 2 * d))
                  .setFilters(out)
                  .build()));
      norms.add(addChildBlock("bn" + i, BatchNorm.builder().optAxis(1).build()));
    }
    embedding = addChildBlock("embedding", Linear.builder().setUnits(config.embeddingDim()).build());
  }

  public Config config() {
    return config;
  }

  /**
   * Dropout on the pooled statistics while training (0 = none); inference never drops. Not part of
   * the weights or {@link Config}: a model trained with it loads and runs like any other.
   */
  public SpeakerTdnn withTrainingDropout(double rate) {
    if (rate < 0 || rate >= 1) throw new IllegalArgumentException("dropout must be in [0, 1)");
    this.trainingDropout = (float) rate;
    return this;
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray x = inputs.singletonOrThrow();
    if (x.getShape().dimension() != 3 || x.getShape().get(2) != Fbank.NUM_BINS) {
      throw new IllegalArgumentException("expected [batch, frames, " + Fbank.NUM_BINS + "], got " + x.getShape());
    }
    x = x.transpose(0, 2, 1); // [B, 80, T]
    for (int i = 0; i < convs.size(); i++) {
      x = convs.get(i).forward(ps, new NDList(x), training).singletonOrThrow();
      x = Activation.relu(x);
      x = norms.get(i).forward(ps, new NDList(x), training).singletonOrThrow();
    }
    NDArray pooled = statsPool(x);
    if (training && trainingDropout > 0) {
      pooled = Dropout.dropout(pooled, trainingDropout, true).singletonOrThrow();
    }
    return embedding.forward(ps, new NDList(pooled), training);
  }

  /** Mean and standard deviation over time: {@code [B, C, T] -> [B, 2C]}. */
  static NDArray statsPool(NDArray x) {
    NDArray mean = x.mean(new int[] {2});
    NDArray var = x.sub(mean.expandDims(2)).square().mean(new int[] {2});
    NDArray std = var.maximum(1e-5f).sqrt();
    return NDArrays.concat(new NDList(mean, std), 1);
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputs) {
    return new Shape[] {new Shape(inputs[0].get(0), config.embeddingDim())};
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    Shape s = new Shape(inputShapes[0].get(0), inputShapes[0].get(2), inputShapes[0].get(1));
    for (int i = 0; i < convs.size(); i++) {
      convs.get(i).initialize(manager, dataType, s);
      s = convs.get(i).getOutputShapes(new Shape[] {s})[0];
      norms.get(i).initialize(manager, dataType, s);
    }
    embedding.initialize(manager, dataType, new Shape(s.get(0), 2 * s.get(1)));
  }

  /** Number of trainable values. */
  public long parameterCount() {
    long n = 0;
    for (var p : getParameters().values()) {
      if (p.requiresGradient() && p.getArray() != null) {
        n += p.getArray().size();
      }
    }
    return n;
  }
}
