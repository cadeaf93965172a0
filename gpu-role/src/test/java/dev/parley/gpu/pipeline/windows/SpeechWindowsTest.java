package dev.parley.gpu.pipeline.windows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.parley.gpu.pipeline.PipelineParams;
import dev.parley.gpu.pipeline.vad.SpeechMask;
import java.util.List;
import org.junit.jupiter.api.Test;

class SpeechWindowsTest {
  static SpeechMask speech(int n, int[]... runs) {
    boolean[] m = new boolean[n];
    for (int[] r : runs) for (int i = r[0]; i < r[1]; i++) m[i] = true;
    return new SpeechMask(m);
  }

  final PipelineParams.Embedding p = new PipelineParams.Embedding(1.5, 0.75, 0.3, 32, 120);

  @Test
  void slidingWindowsCoverALongRunToItsEnd() {
    List<Window> w = SpeechWindows.plan(speech(2000, new int[] {100, 1100}), p);
    assertEquals(100, w.get(0).start());
    assertEquals(1100, w.get(w.size() - 1).end());
    for (Window x : w) assertEquals(150, x.length());
    for (int i = 1; i < w.size() - 1; i++) assertEquals(75, w.get(i).start() - w.get(i - 1).start());
    double weight = w.stream().mapToDouble(Window::weight).sum();
    assertEquals(10.0, weight, 1e-9); // the run's 10 s shared among its windows
  }

  @Test
  void shortRunGetsOneCentredWindowAndTinyRunsNone() {
    List<Window> w = SpeechWindows.plan(speech(1000, new int[] {500, 560}, new int[] {800, 820}), p);
    assertEquals(1, w.size());
    assertEquals(530 - 75, w.get(0).start());
    assertEquals(0.6, w.get(0).weight(), 1e-9);
  }

  @Test
  void windowsStayInsideTheRecording() {
    List<Window> w = SpeechWindows.plan(speech(400, new int[] {0, 50}, new int[] {360, 400}), p);
    assertEquals(2, w.size());
    assertEquals(0, w.get(0).start());
    assertEquals(400, w.get(1).end());
    // a recording shorter than a window: one window of the whole recording
    List<Window> tiny = SpeechWindows.plan(speech(120, new int[] {10, 110}), p);
    assertEquals(1, tiny.size());
    assertEquals(0, tiny.get(0).start());
    assertEquals(120, tiny.get(0).end());
    assertTrue(SpeechWindows.plan(speech(500), p).isEmpty());
  }
}
