package dev.parley.gpu.pipeline.windows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.parley.gpu.embedding.SpeakerEmbeddingModel;
import dev.parley.gpu.pipeline.Parallel;
import dev.parley.gpu.pipeline.PipelineParams;
import dev.parley.gpu.pipeline.features.Fbank;
import dev.parley.gpu.pipeline.vad.SpeechMask;
import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleConsumer;

/**
 * Embeds the windows of one recording. The recording is walked in blocks of at most
 * {@code blockSeconds}: each block's log-mel features are computed once (on the model's device)
 * for the stretch its windows cover, each batch of windows is gathered from them in one indexing
 * op, mean-normalised per window, run through the speaker model and L2-normalised on the device,
 * and the block is freed before the next one, so memory does not grow with the recording's length.
 * Blocks run on up to {@code threads} threads at once.
 * Only the {@code [n, dim]} embeddings come back to the JVM. Thread-safe (state lives in the
 * caller's NDManager).
 */
public final class WindowEmbedder {
  private final Fbank fbank;
  private final SpeakerEmbeddingModel model;
  private final PipelineParams.Embedding params;
  private final int threads;
  /**
   * {@link Fbank#noiseFloor}: the speaker model trained on no recording with empty mel bins, and
   * heard the callers of a telephone meeting alike without it (simulated calls: confusion 44 % ->
   * 18 %; docs/MODEL_CARD.md, "Known limits").
   */
  private final float[] floor;

  /** @param threads blocks embedded at once (0: one per processor) */
  public WindowEmbedder(Fbank fbank, SpeakerEmbeddingModel model, PipelineParams.Embedding params, int threads) {
    this.fbank = fbank;
    this.model = model;
    this.params = params;
    this.threads = Parallel.threads(threads);
    try (NDManager m = NDManager.newBaseManager(fbank.device())) {
      this.floor = fbank.noiseFloor(m).toFloatArray();
    }
  }

  /**
   * @param samples the recording, 16 kHz mono
   * @param windows windows in time order ({@link SpeechWindows#plan})
   * @param progress receives the fraction of windows done, on the calling thread only
   * @return one L2-normalised embedding per window
   */
  public float[][] embed(float[] samples, List<Window> windows, NDManager manager, DoubleConsumer progress)
      throws Exception {
    int n = windows.size();
    float[][] out = new float[n][];
    if (n == 0) return out;
    // blocks: runs of consecutive windows spanning at most blockSeconds, and at most a
    // 1/threads share of the windows so that short recordings use every thread too
    int blockFrames = (int) Math.round(params.blockSeconds() / SpeechMask.FRAME_SECONDS);
    int maxWindows = Math.max(params.batchSize(), (n + threads - 1) / threads);
    List<int[]> blocks = new ArrayList<>();
    int i = 0;
    while (i < n) {
      int first = windows.get(i).start();
      int j = i + 1;
      while (j < n && j - i < maxWindows && windows.get(j).end() - first <= blockFrames) j++;
      blocks.add(new int[] {i, j});
      i = j;
    }
    int workers = Math.min(threads, blocks.size());
    List<Parallel.Task<Void>> tasks = new ArrayList<>();
    for (int w = 0; w < workers; w++) {
      final int worker = w;
      tasks.add(() -> {
        for (int b = worker; b < blocks.size(); b += workers) {
          Parallel.checkInterrupted();
          int[] blk = blocks.get(b);
          embedRange(samples, windows, blk[0], blk[1], out, manager);
          if (worker == 0) progress.accept((double) blk[1] / n);
        }
        return null;
      });
    }
    Parallel.run(tasks);
    return out;
  }

  /** Features for the stretch windows {@code [i, j)} cover, then their embeddings. */
  private void embedRange(float[] samples, List<Window> windows, int i, int j, float[][] out, NDManager manager) {
    int first = windows.get(i).start();
    int last = 0;
    for (int k = i; k < j; k++) last = Math.max(last, windows.get(k).end());
    int from = first * SpeechMask.SAMPLES_PER_FRAME;
    int to = Math.min(samples.length, (last - 1) * SpeechMask.SAMPLES_PER_FRAME + Fbank.FRAME_LENGTH);
    try (NDManager block = NDManager.newBaseManager(manager.getDevice())) {
      NDArray raw = fbank.compute(samples, from, Math.max(from, to), block);
      NDArray feats = Fbank.withNoiseFloor(raw, block.create(floor).toDevice(raw.getDevice(), false));
      embedBlock(feats, first, windows, i, j, out, block);
    }
  }

  /** Embeds {@code windows[i0, i1)} from features whose row 0 is frame {@code firstFrame}. */
  private void embedBlock(NDArray features, int firstFrame, List<Window> windows, int i0, int i1, float[][] out, NDManager manager) {
    int frames = (int) features.getShape().get(0);
    if (frames == 0) throw new IllegalArgumentException("no feature frames to embed: the audio is shorter than 25 ms");
    int batch = Math.max(1, params.batchSize());
    int b0 = i0;
    while (b0 < i1) {
      int b1 = Math.min(i1, b0 + batch);
      int t = windows.get(b0).length();
      // windows of one batch must share a length; split where they do not
      for (int i = b0 + 1; i < b1; i++) {
        if (windows.get(i).length() != t) {
          b1 = i;
          break;
        }
      }
      long[] rows = new long[(b1 - b0) * t];
      int k = 0;
      for (int i = b0; i < b1; i++) {
        int s = windows.get(i).start() - firstFrame;
        for (int f = 0; f < t; f++) rows[k++] = Math.min(frames - 1, Math.max(0, s + f));
      }
      try (NDManager scratch = manager.newSubManager()) {
        // an op's result belongs to its first operand's manager: with the features lent to this batch's
        // scope, every array the batch makes (the model's activations too) is freed when it ends, not
        // when the whole block does (a review); the features go back to the block's manager then
        scratch.tempAttachAll(features);
        NDArray idx = scratch.create(rows).toDevice(features.getDevice(), false);
        NDArray x = features.get(new NDIndex("{}", idx)).reshape(new Shape(b1 - b0, t, Fbank.NUM_BINS));
        NDArray e = model.embed(Fbank.cmn(x));
        NDArray norm = e.norm(new int[] {1}, true).maximum(1e-12f);
        float[] flat = e.div(norm).toType(DataType.FLOAT32, false).toFloatArray();
        for (float v : flat) {
          if (!Float.isFinite(v)) throw new IllegalStateException("the speaker model gave a non-finite embedding");
        }
        int d = (int) e.getShape().get(1);
        for (int i = b0; i < b1; i++) {
          float[] v = new float[d];
          System.arraycopy(flat, (i - b0) * d, v, 0, d);
          out[i] = v;
        }
      }
      b0 = b1;
    }
  }
}
