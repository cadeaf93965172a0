package dev.parley.gpu.pipeline.vad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.parley.gpu.pipeline.PipelineParams;
import dev.parley.gpu.testutil.Signals;
import java.util.List;
import org.junit.jupiter.api.Test;

class EnergyVadTest {
  private final EnergyVad vad = new EnergyVad(PipelineParams.Vad.defaults());

  @Test
  void digitalSilenceHasNoSpeech() {
    SpeechMask m = vad.detect(Signals.silence(20));
    assertEquals(2000, m.length());
    assertEquals(0, m.speechFrames());
  }

  @Test
  void steadyNoiseHasNoSpeech() {
    SpeechMask m = vad.detect(Signals.noise(20, 0.05, 1));
    assertTrue(m.speechFrames() < 50, "speech frames in steady noise: " + m.speechFrames());
  }

  @Test
  void findsVoicesInNoiseAtTheRightPlaces() {
    float[] x = Signals.concat(
        Signals.silence(3), Signals.voice(4, 120, 700, 1200, 0.1, 1),
        Signals.silence(3), Signals.voice(5, 210, 500, 2200, 0.05, 2), Signals.silence(3));
    x = Signals.mix(x, Signals.noise(18, 0.003, 3)); // ~30 dB SNR room noise
    SpeechMask m = vad.detect(x);
    List<SpeechMask.Region> r = m.regions();
    assertEquals(2, r.size(), "regions " + r);
    assertEquals(3.0, r.get(0).startSeconds(), 0.25);
    assertEquals(7.0, r.get(0).endSeconds(), 0.25);
    assertEquals(10.0, r.get(1).startSeconds(), 0.25);
    assertEquals(15.0, r.get(1).endSeconds(), 0.25);
  }

  @Test
  void quietTalkerAfterLoudOneIsStillFound() {
    float[] x = Signals.concat(Signals.voice(5, 120, 700, 1200, 0.2, 1), Signals.silence(2),
        Signals.voice(5, 200, 600, 2000, 0.01, 2), Signals.silence(2));
    x = Signals.mix(x, Signals.noise(14, 0.0005, 3));
    SpeechMask m = vad.detect(x);
    int quiet = 0;
    for (int f = 750; f < 1150; f++) if (m.isSpeech(f)) quiet++;
    assertTrue(quiet > 300, "quiet talker frames " + quiet + "/400");
  }

  @Test
  void noiseBurstsAreNotSpeechButVoicesBesideThemAre() {
    // rustle / fan bursts as loud as the voice: energy alone would call all three speech
    float[] x = Signals.concat(
        Signals.silence(2), Signals.noise(3, 0.1, 4), Signals.silence(2),
        Signals.voice(4, 140, 700, 1500, 0.1, 5), Signals.silence(2), Signals.noise(2, 0.05, 6),
        Signals.silence(2));
    x = Signals.mix(x, Signals.noise(17, 0.001, 7));
    List<SpeechMask.Region> r = vad.detect(x).regions();
    assertEquals(1, r.size(), "regions " + r);
    assertEquals(7.0, r.get(0).startSeconds(), 0.25);
    assertEquals(11.0, r.get(0).endSeconds(), 0.25);

    PipelineParams.Vad energyOnly = PipelineParams.defaults().with("vad.energyMinVoicedFraction=0").vad();
    assertEquals(3, new EnergyVad(energyOnly).detect(x).regions().size(), "the bursts are loud enough to pass on energy");
  }

  @Test
  void voicingIsHighForPitchAndLowForNoise() {
    float[] voiced = Voicing.decimate(Signals.voice(1, 110, 700, 1200, 0.1, 1));
    float[] noise = Voicing.decimate(Signals.noise(1, 0.1, 2));
    double v = 0;
    double n = 0;
    for (int f = 10; f < 90; f++) {
      v += Voicing.voicing(voiced, f) / 80;
      n += Voicing.voicing(noise, f) / 80;
    }
    assertTrue(v > 0.8, "voiced " + v);
    assertTrue(n < 0.45, "noise " + n);
    assertEquals(0, Voicing.voicing(Voicing.decimate(Signals.silence(1)), 50));
    assertEquals(0, Voicing.voicing(voiced, 0), "no full window at the edge");
  }

  @Test
  void hysteresisAndSmoothing() {
    float[] s = new float[200];
    for (int i = 20; i < 60; i++) s[i] = 0.9f; // a run
    for (int i = 60; i < 70; i++) s[i] = 0.35f; // stays on: above offset
    for (int i = 100; i < 102; i++) s[i] = 0.9f; // 20 ms blip: too short
    for (int i = 120; i < 150; i++) s[i] = 0.9f;
    for (int i = 155; i < 190; i++) s[i] = 0.9f; // 50 ms gap: filled
    SpeechMask m = SpeechMask.fromScores(s, 0.5, 0.3, 0.1, 0.1, 0.0);
    List<SpeechMask.Region> r = m.regions();
    assertEquals(List.of(new SpeechMask.Region(20, 70), new SpeechMask.Region(120, 190)), r);
    SpeechMask padded = SpeechMask.fromScores(s, 0.5, 0.3, 0.1, 0.1, 0.05);
    assertEquals(new SpeechMask.Region(15, 75), padded.regions().get(0));
    assertEquals(3, SpeechMask.frameCount(321));
  }
}
