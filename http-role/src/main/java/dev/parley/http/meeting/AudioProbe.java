package dev.parley.http.meeting;

import dev.parley.http.meeting.list.MeetingListRepository;
import dev.parley.protocol.audio.WavHeader;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;

/**
 * What the http role can tell about an upload without decoding it: a content type from the first
 * bytes (when the client sent a generic one) and the duration of a WAV file from its header.
 * Decoding itself is the gpu role's job; a file that is not audio fails there with a reason.
 */
public final class AudioProbe {
  private AudioProbe() {}

  /** Bytes kept from the start of an upload for probing. */
  public static final int HEAD_BYTES = 64 * 1024;

  private static final Map<String, String> BY_EXTENSION = Map.ofEntries(
      Map.entry("wav", "audio/wav"), Map.entry("wave", "audio/wav"), Map.entry("mp3", "audio/mpeg"),
      Map.entry("flac", "audio/flac"), Map.entry("m4a", "audio/mp4"), Map.entry("mp4", "audio/mp4"),
      Map.entry("aac", "audio/aac"), Map.entry("ogg", "audio/ogg"), Map.entry("oga", "audio/ogg"),
      Map.entry("opus", "audio/ogg"), Map.entry("webm", "audio/webm"));

  /**
   * The content type to record: the declared one when it is a media type (audio/*, video/*,
   * application/ogg), else one sniffed from the magic bytes, then one from the file name
   * (multipart file parts without a type arrive as text/plain), else application/octet-stream. A
   * declared type longer than the meeting list keeps ({@link MeetingListRepository#CONTENT_TYPE_CHARS})
   * keeps only its media type, without parameters.
   */
  public static String contentType(String declared, byte[] head, String fileName) {
    String d = declared == null ? "" : declared.strip();
    if (d.length() > MeetingListRepository.CONTENT_TYPE_CHARS) d = d.replaceFirst(";.*", "").strip();
    // anything else (generic, text/html, an SVG, ...) is identified from the bytes
    if (isMedia(d) && d.length() <= MeetingListRepository.CONTENT_TYPE_CHARS) return d;
    String sniffed = sniff(head);
    if (sniffed != null) return sniffed;
    if (fileName != null) {
      int dot = fileName.lastIndexOf('.');
      if (dot >= 0) {
        String t = BY_EXTENSION.get(fileName.substring(dot + 1).toLowerCase(Locale.ROOT));
        if (t != null) return t;
      }
    }
    return "application/octet-stream";
  }

  /** Whether {@code type} names sound or video: audio/*, video/* or application/ogg. */
  public static boolean isMedia(String type) {
    String t = type.strip().toLowerCase(Locale.ROOT);
    return t.startsWith("audio/") || t.startsWith("video/") || t.startsWith("application/ogg");
  }

  static String sniff(byte[] h) {
    if (h == null || h.length < 4) return null;
    if (h.length >= 12 && ascii(h, 0, 4).equals("RIFF") && ascii(h, 8, 4).equals("WAVE")) return "audio/wav";
    if (ascii(h, 0, 4).equals("fLaC")) return "audio/flac";
    if (ascii(h, 0, 4).equals("OggS")) return "audio/ogg";
    if ((h[0] & 0xff) == 0x1a && (h[1] & 0xff) == 0x45 && (h[2] & 0xff) == 0xdf && (h[3] & 0xff) == 0xa3) return "audio/webm";
    if (h.length >= 8 && ascii(h, 4, 4).equals("ftyp")) return "audio/mp4";
    if (ascii(h, 0, 3).equals("ID3") || ((h[0] & 0xff) == 0xff && (h[1] & 0xe0) == 0xe0 && (h[1] & 0x06) != 0)) return "audio/mpeg";
    return null;
  }

  private static String ascii(byte[] b, int off, int len) {
    return off + len <= b.length ? new String(b, off, len, StandardCharsets.US_ASCII) : "";
  }

  /**
   * Duration in seconds of a PCM/float WAV from its header (RIFF fmt + data chunk), or null when
   * the bytes are not a WAV with a usable header. Streaming WAVs with an unknown data size use the
   * total size instead.
   */
  public static Double wavDurationSeconds(byte[] h, long totalSize) {
    WavHeader w = WavHeader.parse(h);
    return w == null ? null : Math.round(w.secondsIn(totalSize) * 1000.0) / 1000.0;
  }

  /** Passes bytes through and keeps the first {@link #HEAD_BYTES} of them. */
  public static final class HeadCapture extends FilterInputStream {
    private final byte[] head = new byte[HEAD_BYTES];
    private int n;

    public HeadCapture(InputStream in) {
      super(in);
    }

    public byte[] head() {
      return Arrays.copyOf(head, n);
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0 && n < head.length) head[n++] = (byte) b;
      return b;
    }

    @Override
    public int read(byte[] buf, int off, int len) throws IOException {
      int r = super.read(buf, off, len);
      if (r > 0 && n < head.length) {
        int k = Math.min(r, head.length - n);
        System.arraycopy(buf, off, head, n, k);
        n += k;
      }
      return r;
    }

    @Override
    public long skip(long k) throws IOException {
      throw new IOException("skip is not supported while capturing");
    }
  }
}
