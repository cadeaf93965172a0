package dev.parley.gpu.pipeline.audio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** ffmpeg's log, as {@code -loglevel level+info} writes it, read into reasons and warnings. */
class DecoderLogTest {
  @Test
  void theFirstErrorIsTheReasonAFileIsRefused() {
    DecoderLog log = DecoderLog.parse("""
        [mov,mp4,m4a,3gp,3g2,mj2 @ 0x1f9b5cc0] [error] moov atom not found
        [error] /tmp/x.m4a: Invalid data found when processing input
        """);
    assertTrue(log.reason().startsWith("the file's index (its moov atom) is missing: an MP4, M4A or MOV file cut off"),
        log.reason()); // ffmpeg's words alone said nothing to a user (a review)
    assertEquals("Invalid data found when processing input",
        DecoderLog.parse("[error] /tmp/x.mp3: Invalid data found when processing input\n").reason());
    assertEquals("the file has no audio stream",
        DecoderLog.parse("[error] Stream map '0:a:0' matches no streams.\n").reason());
    assertEquals("the decoder rejected the file", DecoderLog.parse("").reason());
  }

  @Test
  void aRecordingShorterThanItsHeaderEndsEarly() {
    DecoderLog log = DecoderLog.parse("""
        [info] Input #0, wav, from 'trunc05.wav':
        [info]   Duration: 01:02:03.50, bitrate: 256 kb/s
        [info] Output #0, f32le, to '/tmp/o.f32':
        [pcm_f32le @ 0x2990c0c0] [error] Invalid PCM packet, data has size 1 but at least a size of 4 was expected
        """);
    assertEquals(3723.5, log.declaredSeconds(), 1e-9);
    assertEquals(List.of("the recording ends early: 31:00.0 decoded of the 1:02:03.5 its header declares"
        + " (was the upload or recording cut off? if it is damaged inside instead, the turns after the damage come"
        + " early; the decoder said: Invalid PCM packet, data has size 1 but at least a size of 4 was expected)"),
        log.warnings(1860));
    assertEquals(List.of(), DecoderLog.parse("[info]   Duration: 00:00:30.00, bitrate: 256 kb/s\n").warnings(29.5));
  }

  @Test
  void damageWithinTheFileIsReportedOnce() {
    DecoderLog log = DecoderLog.parse("""
        [info]   Duration: 00:00:30.00, start: 0.000000, bitrate: 42 kb/s
        [flac @ 0x43ba7040] [error] invalid residual
        [flac @ 0x43ba7040] [error] decode_frame() failed
        [error] Error while decoding stream #0:0: Invalid data found when processing input
        """);
    assertEquals(List.of("the decoder skipped damaged data: invalid residual (and 2 more errors)"), log.warnings(30.0));
  }

  /** A review: a video whose picture outlasts its sound was called a cut-off recording. */
  @Test
  void theInputsTracksAreCountedAndAVideoIsNotCalledCutOff() {
    DecoderLog log = DecoderLog.parse("""
        [info] Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'v.mp4':
        [info]   Duration: 00:00:26.90, start: 0.000000, bitrate: 120 kb/s
        [info]   Stream #0:0(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p, 160x120, 10 fps (default)
        [info]   Stream #0:1(und): Audio: aac (LC) (mp4a / 0x6134706D), 16000 Hz, mono, fltp, 69 kb/s (default)
        [info]   Stream #0:2(eng): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp, 2 kb/s
        [info] Output #0, f32le, to '/tmp/o.f32':
        [info]   Stream #0:0(und): Audio: pcm_f32le, 16000 Hz, mono, flt, 512 kb/s (default)
        """);
    assertEquals(2, log.audioStreams(), "the output's stream is not the input's");
    assertTrue(log.video());
    assertEquals(List.of("the sound ends at 0:22.0, before the 0:26.9 the file declares (its picture may run longer,"
        + " or the recording was cut off)"), log.warnings(22.0));
    DecoderLog cover = DecoderLog.parse("""
        [info]   Stream #0:0: Audio: mp3, 44100 Hz, stereo, fltp, 128 kb/s
        [info]   Stream #0:1: Video: mjpeg (Baseline), yuvj420p(pc), 500x500, 90k tbr, 90k tbn (attached pic)
        """);
    assertFalse(cover.video(), "an MP3's cover art is no picture that runs on");
    assertEquals(1, cover.audioStreams());
  }

  /** A review: damage in the middle of an MP3 decodes short, and was called a cut-off with no other word. */
  @Test
  void errorsInAShortDecodeAreACutOrDamage() {
    DecoderLog log = DecoderLog.parse("""
        [info]   Duration: 00:00:22.03, start: 0.069063, bitrate: 64 kb/s
        [mp3float @ 0x33df1780] [error] Header missing
        [error] Error while decoding stream #0:0: Invalid data found when processing input
        """);
    assertEquals(List.of("the recording ends early: 0:19.4 decoded of the 0:22.0 its header declares (was the"
        + " upload or recording cut off? if it is damaged inside instead, the turns after the damage come early;"
        + " the decoder said: Header missing)"), log.warnings(19.44));
  }

  @Test
  void aDurationEstimatedFromTheBitRateDeclaresNothing() {
    DecoderLog log = DecoderLog.parse("""
        [mp3 @ 0x3c94ed80] [warning] Estimating duration from bitrate, this may be inaccurate
        [info]   Duration: 00:10:00.00, start: 0.000000, bitrate: 128 kb/s
        """);
    assertNull(log.declaredSeconds());
    assertEquals(List.of(), log.warnings(300));
  }

  @Test
  void clockReadsLikeAPlayer() {
    assertEquals("0:05.0", DecoderLog.clock(4.96));
    assertEquals("59:59.9", DecoderLog.clock(3599.9));
    assertEquals("1:00:00.0", DecoderLog.clock(3599.96));
  }
}
