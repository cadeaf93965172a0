package dev.parley.gpu.embedding;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.parley.gpu.pipeline.features.Fbank;
import dev.parley.gpu.training.EvaluateEmbedding;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

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
            .getResourceAsStream(DefaultSpeakerModel.RESOURCE_DIR + DefaultSpeakerModel.PROPERTIES_FILE)) {
      card.load(in);
    }
    double recorded = Double.parseDouble(card.getProperty("eer.librispeech"));
    try (SpeakerEmbeddingModel model = EmbeddingModels.load("", null);
        Fbank fbank = new Fbank((Device) null)) {
      assertEquals(DefaultSpeakerModel.ID, model.id());
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
}
