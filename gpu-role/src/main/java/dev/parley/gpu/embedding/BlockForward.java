package dev.parley.gpu.embedding;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import dev.parley.gpu.pipeline.features.Fbank;

/** Runs an inference forward pass with intermediates freed and the result on the input's manager. */
final class BlockForward {
  private BlockForward() {}

  static NDArray run(Block block, Device device, NDArray features) {
    Shape s = features.getShape();
    if (s.dimension() != 3 || s.get(2) != Fbank.NUM_BINS || s.get(0) < 1 || s.get(1) < 1) {
      throw new IllegalArgumentException("expected features [batch, frames>=1, " + Fbank.NUM_BINS + "], got " + s);
    }
    NDManager owner = features.getManager();
    try (NDManager scratch = owner.newSubManager(device)) {
      NDArray x = features.toDevice(device, false);
      if (x == features) {
        scratch.tempAttachAll(features);
      } else {
        x.attach(scratch);
      }
      NDArray out =
          block.forward(new ParameterStore(scratch, false), new NDList(x), false)
              .singletonOrThrow();
      out.attach(owner);
      return out;
    }
  }
}
