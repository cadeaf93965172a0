package dev.parley.gpu.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class PipelineParamsTest {

  @Test
  void valuesAreSetByName() {
    PipelineParams p = PipelineParams.defaults().with("clustering.threshold=0.35").with("embedding.batchSize=8");
    assertEquals(0.35, p.clustering().threshold());
    assertEquals(8, p.embedding().batchSize());
    assertEquals(PipelineParams.defaults().vad(), p.vad());
    PipelineParams q = PipelineParams.defaults().with("segmentation.overlapMinSilenceSeconds=0.2").with("clustering.maxItems=900");
    assertEquals(0.2, q.segmentation().overlapMinSilenceSeconds());
    assertEquals(900, q.clustering().maxItems());
  }

  @Test
  void valuesThatWouldHangCrashOrMeanNothingAreRefusedByName() {
    String[][] cases = {
      {"embedding.hopSeconds=0", "embedding.hopSeconds must be between 0.01 and 1.5, not 0"},
      {"embedding.windowSeconds=-1", "embedding.windowSeconds must be between 0.1 and 60, not -1"},
      {"embedding.batchSize=0", "embedding.batchSize must be between 1 and 4096, not 0"},
      {"clustering.threshold=NaN", "clustering.threshold must be between -1 and 1, not NaN"},
      {"clustering.maxSpeakers=0", "clustering.maxSpeakers must be between 1 and 1000, not 0"},
      {"vad.neuralOnset=1.5", "vad.neuralOnset must be between 0 and 1, not 1.5"},
      {"vad.sileroStreams=0", "vad.sileroStreams must be at least 1, not 0"},
      {"vad.padSeconds=Infinity", "vad.padSeconds must be at least 0, not Infinity"},
      {"segmentation.minTurnSeconds=-0.1", "segmentation.minTurnSeconds must be at least 0, not -0.1"},
      {"clustering.maxItems=0", "clustering.maxItems must be at least 1, not 0"},
      {"segmentation.overlapPadSeconds=-1", "segmentation.overlapPadSeconds must be at least 0, not -1"},
      {"clustering.nope=1", "unknown parameter: clustering.nope"},
      {"embedding.batchSize=many", "not a number for batchSize: many"},
    };
    for (String[] c : cases) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> PipelineParams.defaults().with(c[0]), c[0]);
      assertEquals(c[1], e.getMessage(), c[0]);
    }
  }

  @Test
  void overlapDetectionIsSwitchedOffByAnOnsetAboveOne() {
    assertEquals(2.0, PipelineParams.defaults().with("segmentation.overlapOnset=2").segmentation().overlapOnset());
  }
}
