package dev.parley.gpu.pipeline.segmentation;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.parley.gpu.pipeline.PipelineParams;
import dev.parley.gpu.pipeline.vad.SpeechMask;
import dev.parley.gpu.pipeline.windows.SpeechWindows;
import dev.parley.gpu.pipeline.windows.Window;
import dev.parley.protocol.Segment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class FrameLabelerTest {
  static final float[] A = {1, 0};
  static final float[] B = {0, 1};
  static final float[][] CENTROIDS = {A, B};

  static SpeechMask speech(int n, int[]... runs) {
    boolean[] m = new boolean[n];
    for (int[] r : runs) for (int i = r[0]; i < r[1]; i++) m[i] = true;
    return new SpeechMask(m);
  }

  /** Windows planned by the pipeline's own planner, embedded as A before {@code change} and B after. */
  static float[][] embed(List<Window> w, int change) {
    float[][] e = new float[w.size()][];
    for (int i = 0; i < w.size(); i++) e[i] = w.get(i).centre() < change ? A : B;
    return e;
  }

  @Test
  void turnChangeFallsBetweenWindowCentres() {
    SpeechMask m = speech(1000, new int[] {0, 1000});
    List<Window> w = SpeechWindows.plan(m, PipelineParams.Embedding.defaults());
    int[] lab = new FrameLabeler(PipelineParams.Segmentation.defaults()).label(m, w, embed(w, 500), CENTROIDS);
    int change = 0;
    while (lab[change] == lab[0]) change++;
    assertEquals(500, change, 80);
    List<Segment> segs = FrameLabeler.segments(lab, List.of("S0", "S1"));
    assertEquals(2, segs.size());
    assertEquals(0.0, segs.get(0).start());
    assertEquals(10.0, segs.get(1).end());
  }

  @Test
  void nonSpeechStaysUnlabelledAndShortRunsTakeTheirNeighbour() {
    // a 20 ms speech run between silences: too short for a window; it takes the nearest label
    SpeechMask m = speech(800, new int[] {0, 300}, new int[] {350, 352}, new int[] {500, 800});
    List<Window> w = SpeechWindows.plan(m, PipelineParams.Embedding.defaults());
    int[] lab = new FrameLabeler(PipelineParams.Segmentation.defaults()).label(m, w, embed(w, 400), CENTROIDS);
    assertEquals(-1, lab[320]);
    assertEquals(-1, lab[450]);
    assertEquals(lab[299], lab[351]);
    assertEquals(0, lab[100]);
    assertEquals(1, lab[700]);
  }

  @Test
  void viterbiPenaltyRemovesABlip() {
    int n = 300;
    float[][] score = new float[n][];
    for (int f = 0; f < n; f++) score[f] = f >= 140 && f < 160 ? new float[] {0.4f, 0.6f} : new float[] {0.6f, 0.4f};
    int[] plain = new int[n];
    FrameLabeler.viterbi(score, 0, n, 2, 0, plain);
    assertEquals(1, plain[150]);
    int[] smooth = new int[n];
    FrameLabeler.viterbi(score, 0, n, 2, 5, smooth); // two changes cost 10 > 20 frames x 0.2 gain = 4
    for (int v : smooth) assertEquals(0, v);
    int[] kept = new int[n];
    FrameLabeler.viterbi(score, 0, n, 2, 1, kept); // 2 < 4: the B stretch is kept
    assertEquals(1, kept[150]);
    assertEquals(0, kept[139]);
  }

  @Test
  void shortTurnsJoinTheBetterNeighbour() {
    int[] lab = new int[100];
    Arrays.fill(lab, 0, 50, 0);
    Arrays.fill(lab, 50, 55, 1);
    Arrays.fill(lab, 55, 100, 2);
    float[][] score = new float[100][];
    for (int f = 0; f < 100; f++) score[f] = new float[] {0.1f, 0.2f, 0.5f};
    FrameLabeler.mergeShortTurns(lab, score, 30);
    assertEquals(2, lab[52]);
  }

  @Test
  void changeOverlapExtendsBothTurnsAcrossDirectChangesOnly() {
    int[] lab = new int[600];
    Arrays.fill(lab, -1);
    Arrays.fill(lab, 0, 200, 0);
    Arrays.fill(lab, 200, 400, 1);
    Arrays.fill(lab, 450, 600, 0); // after a pause: no overlap
    List<Segment> segs = new ArrayList<>(FrameLabeler.segments(lab, List.of("S0", "S1"), 0.25));
    assertEquals(new Segment(0.0, 2.25, "S0"), segs.get(0));
    assertEquals(new Segment(1.75, 4.0, "S1"), segs.get(1));
    assertEquals(new Segment(4.5, 6.0, "S0"), segs.get(2));
  }

  @Test
  void overlappedFramesGetTheOtherSpeakerWhoseTurnIsNearestAsSecond() {
    // speaker 0 talks 60 frames, speaker 1 30, speaker 2 10; frames 40..49 and 70..79 overlap
    int[] label = new int[110];
    Arrays.fill(label, 0, 60, 0);
    Arrays.fill(label, 60, 90, 1);
    Arrays.fill(label, 90, 100, 2);
    Arrays.fill(label, 100, 110, -1);
    boolean[] ov = new boolean[110];
    for (int f = 40; f < 50; f++) ov[f] = true;
    for (int f = 70; f < 80; f++) ov[f] = true;
    for (int f = 100; f < 110; f++) ov[f] = true; // overlap outside speech adds nothing
    int[] second = FrameLabeler.secondSpeaker(label, new SpeechMask(ov), 3);
    for (int f = 0; f < 110; f++) {
      // 40..49: speaker 1 comes next; 70..74: speaker 0 spoke 11..15 frames ago, speaker 2 is 16..20 away;
      // 75..79: speaker 2 (the least talkative) is nearer than speaker 0
      int want = f >= 40 && f < 50 ? 1 : f >= 70 && f < 75 ? 0 : f >= 75 && f < 80 ? 2 : -1;
      assertEquals(want, second[f], "frame " + f);
    }
    assertEquals(List.of(new Segment(0.4, 0.5, "S1"), new Segment(0.7, 0.75, "S0"), new Segment(0.75, 0.8, "S2")),
        FrameLabeler.segments(second, List.of("S0", "S1", "S2")));
    int[] alone = FrameLabeler.secondSpeaker(new int[] {0, 0, 0}, new SpeechMask(new boolean[] {true, true, true}), 1);
    assertEquals(List.of(-1, -1, -1), Arrays.stream(alone).boxed().toList(), "one speaker: nobody to add");
  }

  /** A review: the Viterbi pass kept back-pointers in bytes, and speaker 128 and up (numSpeakers to 1000) crashed it. */
  @Test
  void theViterbiPassTakesSpeakersPast127() {
    int k = 200;
    int n = 10;
    float[][] score = new float[n][k];
    for (int f = 0; f < n; f++) score[f][f < 5 ? 150 : 199] = 1f; // speaker 150, then speaker 199
    int[] label = new int[n];
    FrameLabeler.viterbi(score, 0, n, k, 0.1, label);
    assertEquals(List.of(150, 150, 150, 150, 150, 199, 199, 199, 199, 199), Arrays.stream(label).boxed().toList());
  }
}
