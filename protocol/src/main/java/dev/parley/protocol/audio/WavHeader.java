package dev.parley.protocol.audio;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * The parts of a RIFF/WAVE header that size its audio: the byte rate from the {@code fmt } chunk and
 * where the {@code data} chunk starts and how long it says it is. The http role reads an upload's
 * duration from it; the gpu role compares it with what decodes, to tell a cut-off file.
 *
 * @param declaredDataBytes the {@code data} chunk's own size field; 0 and 0xFFFFFFFF are what
 *     streaming writers put there when the size is not known yet ({@link #declaresSize()})
 * @param format the sample format: the {@code fmt } chunk's format tag, or for
 *     WAVE_FORMAT_EXTENSIBLE the tag its sub-format GUID carries (1 integer PCM, 3 IEEE float)
 * @param bitsPerSample the size of each sample's container in bits
 */
public record WavHeader(long byteRate, long dataOffset, long declaredDataBytes, int format, int bitsPerSample) {
  private static final long UNKNOWN_SIZE = 0xffffffffL;
  public static final int PCM = 1;
  private static final int EXTENSIBLE = 0xFFFE;
  private static final Set<String> RIFF_MAGIC = Set.of("RIFF", "RF64", "BW64");

  /** The header in the first bytes of a file, or null when they are not a WAV with {@code fmt } before {@code data}. */
  public static WavHeader parse(byte[] h) {
    // RF64 and BW64 (EBU Tech 3306, for files over 4 GiB, as field recorders write them) are RIFF with
    // a ds64 chunk first and 0xFFFFFFFF in the sizes it replaces: the chunks that matter here read alike
    if (h == null || h.length < 12 || !RIFF_MAGIC.contains(ascii(h, 0, 4)) || !ascii(h, 8, 4).equals("WAVE")) return null;
    ByteBuffer b = ByteBuffer.wrap(h).order(ByteOrder.LITTLE_ENDIAN);
    long pos = 12; // long: a chunk's size may be anything up to 4 GiB, far past the bytes at hand
    long byteRate = -1;
    int format = 0;
    int bits = 0;
    while (pos + 8 <= h.length) {
      int at = (int) pos;
      String id = ascii(h, at, 4);
      long size = b.getInt(at + 4) & UNKNOWN_SIZE;
      int body = at + 8;
      if (id.equals("fmt ") && body + 16 <= h.length) {
        format = b.getShort(body) & 0xffff;
        byteRate = b.getInt(body + 8) & UNKNOWN_SIZE;
        bits = b.getShort(body + 14) & 0xffff;
        // the sub-format GUID's first two bytes are the format tag it stands for
        if (format == EXTENSIBLE && size >= 40 && body + 26 <= h.length) format = b.getShort(body + 24) & 0xffff;
      } else if (id.equals("data")) {
        return byteRate <= 0 ? null : new WavHeader(byteRate, body, size, format, bits);
      }
      pos = body + size + (size & 1);
    }
    return null;
  }

  /** Whether the {@code data} chunk states its size (a streaming writer leaves 0 or 0xFFFFFFFF). */
  public boolean declaresSize() {
    return declaredDataBytes != 0 && declaredDataBytes != UNKNOWN_SIZE;
  }

  /** Seconds of audio in {@code bytes} of sample data. */
  public double seconds(long bytes) {
    return bytes / (double) byteRate;
  }

  /** Seconds of audio a file of {@code fileSize} bytes holds: what the header declares, or what is there if less. */
  public double secondsIn(long fileSize) {
    long available = Math.max(0, fileSize - dataOffset);
    return seconds(declaresSize() ? Math.min(declaredDataBytes, available) : available);
  }

  private static String ascii(byte[] b, int off, int len) {
    return off + len <= b.length ? new String(b, off, len, StandardCharsets.US_ASCII) : "";
  }
}
