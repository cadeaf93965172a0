package dev.parley.gpu.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.parley.protocol.DiarizationResult;
import dev.parley.protocol.Segment;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DerScorerTest {
  private static final double EPS = 1e-9;

  private static List<Turn> rttm(String text) {
    Map<String, List<Turn>> m = Rttm.parse(text, "test");
    return m.isEmpty() ? List.of() : m.values().iterator().next();
  }

  private static String line(double start, double dur, String spk) {
    return String.format(Locale.ROOT, "SPEAKER f 1 %.3f %.3f <NA> <NA> %s <NA> <NA>%n", start, dur, spk);
  }

  @Test
  void perfectHypothesisWithOtherLabelsScoresZero() {
    List<Turn> ref = rttm(line(0, 4, "alice") + line(4, 3, "bob") + line(9, 2, "alice"));
    List<Turn> hyp = rttm(line(0, 4, "S1") + line(4, 3, "S0") + line(9, 2, "S1"));
    DerResult r = DerScorer.score(ref, hyp, null, 0);
    assertEquals(9.0, r.total(), EPS);
    assertEquals(0.0, r.der(), EPS);
  }

  @Test
  void oneLabelForTwoSpeakersIsHalfConfusion() {
    List<Turn> ref = rttm(line(0, 10, "A") + line(10, 10, "B"));
    List<Turn> hyp = rttm(line(0, 20, "X"));
    DerResult r = DerScorer.score(ref, hyp, null, 0);
    assertEquals(20.0, r.total(), EPS);
    assertEquals(10.0, r.confusion(), EPS);
    assertEquals(0.0, r.missed(), EPS);
    assertEquals(0.0, r.falseAlarm(), EPS);
    assertEquals(0.5, r.der(), EPS);
  }

  @Test
  void overlapIsScoredAsMissedSpeech() {
    List<Turn> ref = rttm(line(0, 10, "A") + line(5, 10, "B"));
    List<Turn> hyp = rttm(line(0, 10, "X") + line(10, 5, "Y"));
    DerResult r = DerScorer.score(ref, hyp, null, 0);
    assertEquals(20.0, r.total(), EPS);
    assertEquals(5.0, r.missed(), EPS);
    assertEquals(0.0, r.confusion(), EPS);
    assertEquals(0.0, r.falseAlarm(), EPS);
  }

  @Test
  void falseAlarmAndMissedInsideUem() {
    List<Turn> ref = rttm(line(2, 6, "A"));
    List<Turn> hyp = rttm(line(0, 5, "X") + line(12, 3, "X"));
    List<Uem.Region> uem = List.of(new Uem.Region(0, 20));
    DerResult r = DerScorer.score(ref, hyp, uem, 0);
    assertEquals(6.0, r.total(), EPS);
    assertEquals(3.0, r.missed(), EPS); // 5..8
    assertEquals(2.0 + 3.0, r.falseAlarm(), EPS); // 0..2 and 12..15
    assertEquals(0.0, r.confusion(), EPS);
    // a UEM that covers only 0..4 scores only that part
    DerResult part = DerScorer.score(ref, hyp, List.of(new Uem.Region(0, 4)), 0);
    assertEquals(2.0, part.total(), EPS);
    assertEquals(2.0, part.falseAlarm(), EPS);
    assertEquals(0.0, part.missed(), EPS);
  }

  @Test
  void collarForgivesBoundaryErrors() {
    List<Turn> ref = rttm(line(0, 10, "A") + line(10, 10, "B"));
    List<Turn> hyp = rttm(line(0, 10.2, "X") + line(10.2, 9.8, "Y"));
    DerResult strict = DerScorer.score(ref, hyp, null, 0);
    assertEquals(0.2, strict.confusion(), 1e-6);
    assertEquals(0.01, strict.der(), 1e-6);
    DerResult lenient = DerScorer.score(ref, hyp, null, 0.25);
    assertEquals(0.0, lenient.der(), 1e-9);
    // 0.25 s on each side of 0, 10 (twice: end of A and start of B) and 20, within the 0..20 extent
    assertEquals(20.0 - 0.25 - 0.5 - 0.25, lenient.total(), 1e-6);
  }

  @Test
  void bestMappingIsFoundWhenGreedyWouldFail() {
    // hyp X covers A mostly and B partly; Y only B; greedy on X would steal the wrong one in the 3x2 case
    List<Turn> ref = rttm(line(0, 6, "A") + line(6, 6, "B") + line(12, 2, "C"));
    List<Turn> hyp = rttm(line(0, 9, "X") + line(9, 5, "Y"));
    DerResult r = DerScorer.score(ref, hyp, null, 0);
    // X->A (6 s), Y->B (3 s): confusion = 3 (X on B 6..9) + 2 (Y on C) = 5
    assertEquals(14.0, r.total(), EPS);
    assertEquals(5.0, r.confusion(), EPS);
  }

  @Test
  void moreHypothesisSpeakersThanReferenceAreConfusion() {
    List<Turn> ref = rttm(line(0, 10, "A"));
    List<Turn> hyp = rttm(line(0, 4, "X") + line(4, 6, "Y"));
    DerResult r = DerScorer.score(ref, hyp, null, 0);
    assertEquals(4.0, r.confusion(), EPS);
    assertEquals(0.4, r.der(), EPS);
  }

  @Test
  void emptyHypothesisIsAllMissed() {
    List<Turn> ref = rttm(line(1, 3, "A") + line(2, 3, "B"));
    DerResult r = DerScorer.score(ref, List.of(), null, 0);
    assertEquals(6.0, r.total(), EPS);
    assertEquals(6.0, r.missed(), EPS);
    assertEquals(1.0, r.der(), EPS);
  }

  @Test
  void oneSpeakerBaselineMissesOverlapAndConfusesTheRest() {
    List<Turn> ref = rttm(line(0, 10, "A") + line(5, 10, "B") + line(20, 4, "C"));
    List<Turn> one = DerScorer.oneSpeakerBaseline(ref);
    assertEquals(2, one.size());
    DerResult r = DerScorer.score(ref, one, null, 0);
    assertEquals(24.0, r.total(), EPS);
    assertEquals(5.0, r.missed(), EPS);
    assertEquals(0.0, r.falseAlarm(), EPS);
    // ONE maps to A or B (10 s each): the other 5 s of B/A plus C's 4 s are confused
    assertEquals(9.0, r.confusion(), EPS);
  }

  @Test
  void hungarianFindsTheOptimum() {
    double[][] w = {{1, 2, 3}, {2, 4, 6}, {3, 6, 9}};
    // anti-diagonal: 3 + 4 + 3 = 10 vs diagonal 1+4+9 = 14: diagonal wins
    assertArrayEquals(new int[] {0, 1, 2}, Hungarian.maximize(w));
    double[][] rect = {{5, 1}, {6, 0}, {0, 4}};
    int[] m = Hungarian.maximize(rect);
    // best: row1->col0 (6) + row2->col1 (4) = 10; row0 unassigned
    assertArrayEquals(new int[] {-1, 0, 1}, m);
  }

  @Test
  void rttmAndUemParsing() {
    String text = ";; comment\n\nSPEAKER trn00 1 3.168 0.800 <NA> <NA> MÉO069 <NA> <NA>\n"
        + "SPEAKER trn01 1 1.0 2.5 <NA> <NA> B <NA> <NA>\nSPKR-INFO trn01 1 <NA> <NA> <NA> unknown B <NA> <NA>\n";
    Map<String, List<Turn>> m = Rttm.parse(text, "x");
    assertEquals(List.of("trn00", "trn01"), List.copyOf(m.keySet()));
    Turn t = m.get("trn00").get(0);
    assertEquals("MÉO069", t.speaker());
    assertEquals(3.968, t.end(), 1e-9);
    // what diarize writes (DiarizationResult.toRttm) reads back as the same turns
    String written = new DiarizationResult(List.of(new Segment(1.0, 3.5, "B")), List.of(), Map.of(), null).toRttm("trn01");
    assertEquals(m.get("trn01"), Rttm.parse(written, "y").get("trn01"));
    assertThrows(IllegalArgumentException.class, () -> Rttm.parse("SPEAKER f 1 x 1 <NA> <NA> A", "z"));
    assertThrows(IllegalArgumentException.class, () -> Rttm.parse("SPEAKER f 1 -1 1 <NA> <NA> A", "z"));
    Map<String, List<Uem.Region>> u = Uem.parse("trn00 NA 0.000 30.000\ntrn01 1 2 3\n", "u");
    assertEquals(new Uem.Region(0, 30), u.get("trn00").get(0));
    assertEquals(new Uem.Region(2, 3), u.get("trn01").get(0));
    assertThrows(IllegalArgumentException.class, () -> Uem.parse("trn00 NA 5 1", "u"));
  }
}
