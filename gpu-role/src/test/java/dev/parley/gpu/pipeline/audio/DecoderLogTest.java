package dev.parley.gpu.pipeline.audio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

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
    assertEquals("moov atom not found", log.reason());
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
        + " (was the upload or recording cut off?)"), log.warnings(1860));
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
