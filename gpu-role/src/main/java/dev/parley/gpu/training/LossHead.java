package dev.parley.gpu.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * A network under training with its loss on top: {@code forward(features, target)} returns the
 * scalar loss and the number of correct predictions in the batch. The trainers differ only in
 * {@link #loss}; the network is the child block {@code net}, so its parameters can be saved alone.
 */
abstract class LossHead<N extends AbstractBlock> extends AbstractBlock {
  final N net;

  LossHead(byte version, N net) {
    super(version);
    this.net = addChildBlock("net", net);
  }

  /** @return the mean loss and the count of correct predictions, both scalars */
  abstract NDList loss(ParameterStore ps, NDArray output, NDArray target, boolean training);

  @Override
  protected final NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray output = net.forward(ps, new NDList(inputs.get(0)), training).singletonOrThrow();
    return loss(ps, output, inputs.get(1), training);
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputs) {
    return new Shape[] {new Shape(), new Shape()};
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    net.initialize(manager, dataType, inputShapes[0]);
  }
}
