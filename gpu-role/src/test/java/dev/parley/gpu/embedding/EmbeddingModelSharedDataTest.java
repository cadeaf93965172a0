package dev.parley.gpu.embedding;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.parley.gpu.pipeline.features.Fbank;
import dev.parley.gpu.training.EvaluateEmbedding;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.parley.gpu.pipeline.DiarizationPipeline;
import dev.parley.protocol.DiarizationOptions;
import dev.parley.protocol.DiarizationResult;
import dev.parley.gpu.pipeline.PipelineSettings;
import java.io.DataInputStream;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The committed default model reproduces its model card's held-out EER; TorchScript contract checks. */
class EmbeddingModelSharedDataTest {
  static Path shared;

  @BeforeAll
  static void setUp() {
    System.setProperty("ai.djl.offline", "true");
    shared = Path.of(System.getProperty("parley.shared", "../../shared"));
  }

  @Test
  void committedModelReproducesItsHeldOutEer() throws Exception {
    Properties card = new Properties();
    try (InputStream in =
        getClass()
            .getClassLoader()
            .getResourceAsStream(TdnnSpeakerModel.RESOURCE_DIR + TdnnSpeakerModel.PROPERTIES_FILE)) {
      card.load(in);
    }
    double recorded = Double.parseDouble(card.getProperty("eer.librispeech"));
    try (SpeakerEmbeddingModel model = EmbeddingModels.load("", null);
        Fbank fbank = new Fbank((Device) null)) {
      assertEquals(TdnnSpeakerModel.ID, model.id());
      assertEquals(
          Integer.parseInt(card.getProperty("embeddingDim")), model.dimension());
      List<EvaluateEmbedding.Segment> libri =
          EvaluateEmbedding.librispeechSegments(
              shared.resolve("data/librispeech-speakers"), EvaluateEmbedding.heldOutSpeakers());
      assertEquals(40, EvaluateEmbedding.heldOutSpeakers().size());
      EvaluateEmbedding.Result r = EvaluateEmbedding.evaluate(model::embed, fbank, libri, List.of());
      assertTrue(
          Math.abs(r.libriEer() - recorded) <= 0.01,
          "held-out EER " + r.libriEer() + " vs recorded " + recorded);
      assertTrue(r.libriTargets() >= 200 && r.libriNonTargets() > 10_000);
      double sharedRoom = Double.parseDouble(card.getProperty("eer.librispeech.sharedRoom"));
      assertTrue(
          Math.abs(r.roomEer() - sharedRoom) <= 0.01,
          "held-out shared-room EER " + r.roomEer() + " vs recorded " + sharedRoom);
      assertTrue(r.roomTargets() >= 200 && r.roomNonTargets() > 1_000);
    }
  }

  @Test
  void torchScriptWithAnotherContractIsRejectedClearly() {
    Path silero = shared.resolve("models/silero_vad.jit");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> EmbeddingModels.load(silero.toString(), null));
    assertTrue(e.getMessage().contains("silero_vad.jit"), e.getMessage());
  }

  /**
   * The WeSpeaker-contract path on a real speaker model: the committed TDNN written as TorchScript
   * ({@link TorchScriptTdnn}) loads through {@code PARLEY_EMBEDDING_MODEL}'s loader, gives the DJL
   * block's embeddings, and the whole pipeline gives the same speaker turns on a real recording.
   */
  @Test
  void aTorchScriptSpeakerModelWithTheContractReplacesTheDefault(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("parley-tdnn.pt");
    try (NDManager m = NDManager.newBaseManager(Device.cpu());
        InputStream in = getClass().getClassLoader()
            .getResourceAsStream(TdnnSpeakerModel.RESOURCE_DIR + TdnnSpeakerModel.PARAMS_FILE)) {
      SpeakerTdnn tdnn = new SpeakerTdnn(SpeakerTdnn.Config.DEFAULT);
      tdnn.initialize(m, DataType.FLOAT32, new Shape(1, 200, 80));
      tdnn.loadParameters(m, new DataInputStream(in));
      TorchScriptTdnn.write(tdnn, file);
    }
    try (SpeakerEmbeddingModel scripted = EmbeddingModels.load(file.toString(), Device.cpu());
        SpeakerEmbeddingModel committed = EmbeddingModels.load("", Device.cpu());
        NDManager m = NDManager.newBaseManager(Device.cpu())) {
      assertEquals(TorchScriptSpeakerModel.class, scripted.getClass());
      assertEquals("parley-tdnn.pt", scripted.id());
      assertEquals(committed.dimension(), scripted.dimension());
      m.getEngine().setRandomSeed(7);
      NDArray x = m.randomNormal(new Shape(3, 150, 80));
      float[] a = committed.embed(x).toFloatArray();
      float[] b = scripted.embed(x).toFloatArray();
      for (int i = 0; i < a.length; i++) {
        assertEquals(a[i], b[i], 1e-3 * (1 + Math.abs(a[i])), "embedding value " + i);
      }
    }
    Path audio = shared.resolve("data/ami-dev/trn05.wav");
    DiarizationResult byDefault;
    DiarizationResult byScript;
    try (DiarizationPipeline p = DiarizationPipeline.create(new PipelineSettings("", "", "cpu"))) {
      byDefault = p.diarize(audio, DiarizationOptions.NONE, null);
    }
    try (DiarizationPipeline p = DiarizationPipeline.create(new PipelineSettings("", file.toString(), "cpu"))) {
      byScript = p.diarize(audio, DiarizationOptions.NONE, null);
      assertEquals("parley-tdnn.pt", p.models().get("embedding"));
    }
    assertFalse(byDefault.segments().isEmpty());
    assertEquals(byDefault.segments(), byScript.segments());
  }
}
