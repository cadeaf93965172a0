package dev.parley.gpu.training;

import ai.djl.training.tracker.Tracker;

/** A learning rate the training loop sets before each step (warm-up and decay by elapsed time). */
final class ManualLearningRate implements Tracker {
  volatile float lr;

  @Override
  public float getNewValue(int numUpdate) {
    return lr;
  }
}
