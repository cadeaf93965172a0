package dev.parley.http.meeting;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.parley.http.meeting.list.Cursor;
import dev.parley.http.testutil.Api;
import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;

class AudioProbeTest {
  @Test
  void wavDurationFromHeader() {
    byte[] wav = Api.wav(2.5);
    assertEquals(2.5, AudioProbe.wavDurationSeconds(Arrays.copyOf(wav, 4096), wav.length), 1e-9);
    // streaming WAV with an unknown data size: the total size decides
    byte[] streaming = wav.clone();
    streaming[40] = streaming[41] = streaming[42] = streaming[43] = (byte) 0xff;
    assertEquals(2.5, AudioProbe.wavDurationSeconds(streaming, streaming.length), 1e-9);
    // a truncated upload is as long as what arrived
    assertEquals(1.0, AudioProbe.wavDurationSeconds(wav, 44 + 32000), 1e-9);
    assertNull(AudioProbe.wavDurationSeconds("ID3 not a wav".getBytes(StandardCharsets.US_ASCII), 100));
    assertNull(AudioProbe.wavDurationSeconds(new byte[3], 3));
  }

  /** A review's upload: a chunk claiming nearly 2 GiB overflowed the parser's int position (500, blob left behind). */
  @Test
  void aChunkLargerThanTheHeadIsSkippedNotAnException() {
    ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
    b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(1000).put("WAVE".getBytes(StandardCharsets.US_ASCII));
    for (int size : new int[] {0x7FFFFFF0, 0xFFFFFFF0}) {
      b.put(12, "LIST".getBytes(StandardCharsets.US_ASCII)).putInt(16, size);
      assertNull(AudioProbe.wavDurationSeconds(b.array(), 1_000_000L), Integer.toHexString(size));
    }
  }

  @Test
  void contentTypeIsSniffedWhenGeneric() {
    byte[] wav = Api.wav(0.1);
    assertEquals("audio/wav", AudioProbe.contentType("application/octet-stream", wav, null));
    assertEquals("audio/flac", AudioProbe.contentType(null, "fLaC....".getBytes(StandardCharsets.US_ASCII), null));
    assertEquals("audio/ogg", AudioProbe.contentType("text/plain; charset=UTF-8", "OggS....".getBytes(StandardCharsets.US_ASCII), null));
    assertEquals("audio/webm", AudioProbe.contentType("", new byte[] {0x1a, 0x45, (byte) 0xdf, (byte) 0xa3, 0}, "x.webm"));
    assertEquals("audio/mpeg", AudioProbe.contentType(null, "ID3\u0004....".getBytes(StandardCharsets.US_ASCII), null));
    assertEquals("audio/mp4", AudioProbe.contentType(null, new byte[] {0, 0, 0, 0x20, 'f', 't', 'y', 'p', 'M', '4', 'A'}, null));
    assertEquals("audio/mp4", AudioProbe.contentType(null, new byte[] {1, 2, 3, 4, 5}, "talk.M4A"));
    assertEquals("application/octet-stream", AudioProbe.contentType(null, new byte[] {1, 2, 3, 4, 5}, "x.bin"));
    assertEquals("audio/x-custom", AudioProbe.contentType("audio/x-custom", wav, null), "a specific declared type wins");
    // a declared type that is not sound or video is never kept: it is identified from the bytes
    assertEquals("application/octet-stream", AudioProbe.contentType("text/html", "<html>".getBytes(StandardCharsets.US_ASCII), "x.html"));
    assertEquals("audio/wav", AudioProbe.contentType("image/svg+xml", wav, null));
    assertEquals("video/webm", AudioProbe.contentType("video/webm", wav, null));
  }

  @Test
  void aDeclaredTypeTooLongToStoreKeepsOnlyItsMediaType() {
    byte[] wav = Api.wav(0.1);
    assertEquals("audio/webm", AudioProbe.contentType("audio/webm; note=" + "z".repeat(300), wav, null));
    assertEquals("audio/webm; codecs=opus", AudioProbe.contentType("audio/webm; codecs=opus", wav, null));
    assertEquals("audio/wav", AudioProbe.contentType("audio/" + "x".repeat(300), wav, null), "no usable media type: sniffed");
  }

  @Test
  void headCaptureKeepsTheStart() throws Exception {
    byte[] data = new byte[200_000];
    for (int i = 0; i < data.length; i++) data[i] = (byte) i;
    AudioProbe.HeadCapture h = new AudioProbe.HeadCapture(new ByteArrayInputStream(data));
    assertEquals(data.length, h.transferTo(OutputStream.nullOutputStream()));
    Assertions.assertArrayEquals(Arrays.copyOf(data, AudioProbe.HEAD_BYTES), h.head());
  }

  @Test
  void cursorRoundTripAndGarbage() {
    Cursor c = new Cursor(1700000000123L, "5d6f-id");
    assertEquals(c, Cursor.decode(c.encode()));
    for (String bad : new String[] {"", "%%%", "bm9wZQ", "OjE", "YWJjOmRlZg"}) {
      Assertions.assertThrows(IllegalArgumentException.class, () -> Cursor.decode(bad), bad);
    }
  }
}
