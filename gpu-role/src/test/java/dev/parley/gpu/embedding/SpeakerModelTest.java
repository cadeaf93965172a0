package dev.parley.gpu.embedding;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import java.io.DataOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpeakerModelTest {
  @TempDir static Path dir;
  static Path params;
  static Properties props = new Properties();
  static final SpeakerTdnn.Config SMALL = new SpeakerTdnn.Config(32, 64, 24);

  @BeforeAll
  static void saveRandomWeights() throws Exception {
    System.setProperty("ai.djl.offline", "true");
    SMALL.to(props);
    params = dir.resolve("w.params");
    try (NDManager m = NDManager.newBaseManager()) {
      SpeakerTdnn net = new SpeakerTdnn(SMALL);
      net.initialize(m, DataType.FLOAT32, new Shape(1, 100, 80));
      try (OutputStream os = Files.newOutputStream(params)) {
        net.saveParameters(new DataOutputStream(os));
      }
    }
  }

  /** Training dropout changes training passes only: inference gives the same embeddings with or without it. */
  @Test
  void trainingDropoutNeverTouchesInference() {
    try (NDManager m = NDManager.newBaseManager()) {
      SpeakerTdnn net = new SpeakerTdnn(SMALL);
      net.initialize(m, DataType.FLOAT32, new Shape(1, 100, 80));
      NDArray x = m.randomNormal(new Shape(2, 120, 80));
      ParameterStore ps = new ParameterStore(m, false);
      float[] plain = net.forward(ps, new NDList(x), false).singletonOrThrow().toFloatArray();
      net.withTrainingDropout(0.5);
      assertArrayEquals(plain, net.forward(ps, new NDList(x), false).singletonOrThrow().toFloatArray());
      // training passes (batch statistics, so comparable with each other): dropout changes them
      float[] trained = net.forward(ps, new NDList(x), true).singletonOrThrow().toFloatArray();
      net.withTrainingDropout(0);
      float[] trainedPlain = net.forward(ps, new NDList(x), true).singletonOrThrow().toFloatArray();
      assertNotEquals(Arrays.toString(trainedPlain), Arrays.toString(trained));
      assertThrows(IllegalArgumentException.class, () -> net.withTrainingDropout(1.0));
    }
  }

  @Test
  void defaultConfigIsCompact() {
    try (NDManager m = NDManager.newBaseManager()) {
      SpeakerTdnn net = new SpeakerTdnn(SpeakerTdnn.Config.DEFAULT);
      net.initialize(m, DataType.FLOAT32, new Shape(1, 100, 80));
      long n = net.parameterCount();
      assertTrue(n > 500_000 && n < 3_000_000, "parameters: " + n);
    }
  }

  @Test
  void embedsBatchesWithTheContractShape() {
    try (TdnnSpeakerModel model = TdnnSpeakerModel.load(params, props, null);
        NDManager m = NDManager.newBaseManager()) {
      assertEquals(24, model.dimension());
      assertEquals("parley-tdnn", model.id());
      assertEquals(12, model.version().length());
      NDArray x = m.randomNormal(new Shape(3, 150, 80));
      NDArray y = model.embed(x);
      assertEquals(new Shape(3, 24), y.getShape());
      assertEquals(m, y.getManager());
      // inference is per example: one window alone gives the same embedding as in the batch
      NDArray one = model.embed(x.get("1:2"));
      assertArrayEquals(y.get("1:2").toFloatArray(), one.toFloatArray(), 1e-4f);
      assertNotEquals(y.get(0).toFloatArray()[0], y.get(2).toFloatArray()[0]);
      // very short windows are still accepted
      assertEquals(new Shape(2, 24), model.embed(m.randomNormal(new Shape(2, 3, 80))).getShape());
    }
  }

  @Test
  void concurrentCallsAgree() throws Exception {
    try (TdnnSpeakerModel model = TdnnSpeakerModel.load(params, props, null);
        NDManager m = NDManager.newBaseManager()) {
      float[] input = m.randomNormal(new Shape(2, 120, 80)).toFloatArray();
      float[] expected;
      try (NDManager s = m.newSubManager()) {
        expected = model.embed(s.create(input, new Shape(2, 120, 80))).toFloatArray();
      }
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<float[]>> fs = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
          fs.add(
              pool.submit(
                  () -> {
                    try (NDManager s = NDManager.newBaseManager()) {
                      return model.embed(s.create(input, new Shape(2, 120, 80))).toFloatArray();
                    }
                  }));
        }
        for (Future<float[]> f : fs) {
          assertArrayEquals(expected, f.get(), 1e-4f);
        }
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Test
  void badInputIsRejectedClearly() {
    try (TdnnSpeakerModel model = TdnnSpeakerModel.load(params, props, null);
        NDManager m = NDManager.newBaseManager()) {
      assertThrows(IllegalArgumentException.class, () -> model.embed(m.zeros(new Shape(2, 50, 40))));
      assertThrows(IllegalArgumentException.class, () -> model.embed(m.zeros(new Shape(50, 80))));
      assertThrows(IllegalArgumentException.class, () -> model.embed(m.zeros(new Shape(1, 0, 80))));
    }
  }

  @Test
  void trainEmbeddingOutputDirectoryLoads() throws Exception {
    Path out = dir.resolve("trained");
    Files.createDirectories(out);
    Files.copy(params, out.resolve(TdnnSpeakerModel.PARAMS_FILE));
    try (var w = Files.newBufferedWriter(out.resolve(TdnnSpeakerModel.PROPERTIES_FILE))) {
      props.store(w, null);
    }
    try (SpeakerEmbeddingModel fromDir = EmbeddingModels.load(out.toString(), null);
        TdnnSpeakerModel direct = TdnnSpeakerModel.load(params, props, null);
        NDManager m = NDManager.newBaseManager()) {
      NDArray x = m.randomNormal(new Shape(1, 120, 80));
      assertEquals(direct.version(), fromDir.version());
      assertArrayEquals(direct.embed(x).toFloatArray(), fromDir.embed(x).toFloatArray(), 1e-6f);
    }
    Path empty = Files.createDirectories(dir.resolve("empty"));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> EmbeddingModels.load(empty.toString(), null));
    assertTrue(e.getMessage().contains("train-embedding"), e.getMessage());
  }

  @Test
  void missingTorchScriptFileIsAClearError() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> EmbeddingModels.load(dir.resolve("nope.pt").toString(), null));
    assertTrue(e.getMessage().contains("not found"));
  }

  @Test
  void notATorchScriptFileIsAClearError() throws Exception {
    Path junk = dir.resolve("junk.pt");
    Files.writeString(junk, "this is not a model");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> EmbeddingModels.load(junk.toString(), null));
    assertTrue(e.getMessage().contains("junk.pt"), e.getMessage());
  }

  /** Writes fresh random weights of the SMALL network as a train-embedding output directory. */
  private static Path randomModelDirectory(String name) throws Exception {
    Path out = Files.createDirectories(dir.resolve(name));
    try (NDManager m = NDManager.newBaseManager()) {
      SpeakerTdnn net = new SpeakerTdnn(SMALL);
      net.initialize(m, DataType.FLOAT32, new Shape(1, 100, 80));
      try (OutputStream os = Files.newOutputStream(out.resolve(TdnnSpeakerModel.PARAMS_FILE))) {
        net.saveParameters(new DataOutputStream(os));
      }
    }
    try (var w = Files.newBufferedWriter(out.resolve(TdnnSpeakerModel.PROPERTIES_FILE))) {
      props.store(w, null);
    }
    return out;
  }

  /** Cosine similarity of rows i and j of a row-major matrix with rows of width d. */
  private static double cosine(float[] e, int d, int i, int j) {
    double dot = 0, a = 0, b = 0;
    for (int k = 0; k < d; k++) {
      dot += (double) e[i * d + k] * e[j * d + k];
      a += (double) e[i * d + k] * e[i * d + k];
      b += (double) e[j * d + k] * e[j * d + k];
    }
    return dot / Math.sqrt(a * b);
  }

  /** A comma-separated list is one model whose cosine similarity is the mean of its members'. */
  @Test
  void anEnsembleScoresTheMeanOfItsMembersSimilarities() throws Exception {
    Path a = randomModelDirectory("memberA");
    Path b = randomModelDirectory("memberB");
    try (SpeakerEmbeddingModel ensemble = EmbeddingModels.load(a + " , " + b, null);
        SpeakerEmbeddingModel first = EmbeddingModels.load(a.toString(), null);
        SpeakerEmbeddingModel second = EmbeddingModels.load(b.toString(), null);
        NDManager m = NDManager.newBaseManager()) {
      assertEquals(2 * SMALL.embeddingDim(), ensemble.dimension());
      assertEquals(first.version() + "+" + second.version(), ensemble.version());
      assertEquals("ensemble(parley-tdnn+parley-tdnn)", ensemble.id());
      NDArray x = m.randomNormal(new Shape(3, 150, 80));
      float[] e = ensemble.embed(x).toFloatArray();
      float[] ea = first.embed(x).toFloatArray();
      float[] eb = second.embed(x).toFloatArray();
      int d = SMALL.embeddingDim();
      assertEquals(3 * 2 * d, e.length);
      for (int row = 0; row < 3; row++) {
        double norm = 0;
        for (int k = 0; k < 2 * d; k++) norm += (double) e[row * 2 * d + k] * e[row * 2 * d + k];
        assertEquals(1.0, norm, 1e-4, "unit length");
      }
      for (int[] pair : new int[][] {{0, 1}, {0, 2}, {1, 2}}) {
        double mean = (cosine(ea, d, pair[0], pair[1]) + cosine(eb, d, pair[0], pair[1])) / 2;
        double dot = 0;
        for (int k = 0; k < 2 * d; k++) dot += (double) e[pair[0] * 2 * d + k] * e[pair[1] * 2 * d + k];
        assertEquals(mean, dot, 1e-4, "pair " + pair[0] + "," + pair[1]);
      }
      // the members differ, so the ensemble is not one of them twice
      assertNotEquals(first.version(), second.version());
      assertNotEquals(Arrays.toString(ea), Arrays.toString(eb));
    }
  }

  @Test
  void badEnsembleListsAreClearErrors() throws Exception {
    Path a = randomModelDirectory("memberC");
    IllegalArgumentException empty =
        assertThrows(IllegalArgumentException.class, () -> EmbeddingModels.load(a + ",,", null));
    assertTrue(empty.getMessage().contains("empty entry"), empty.getMessage());
    IllegalArgumentException missing =
        assertThrows(IllegalArgumentException.class,
            () -> EmbeddingModels.load(a + "," + dir.resolve("nope.pt"), null));
    assertTrue(missing.getMessage().contains("not found"), missing.getMessage());
  }
}
