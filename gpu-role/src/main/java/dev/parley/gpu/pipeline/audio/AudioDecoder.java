package dev.parley.gpu.pipeline.audio;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import ws.schild.jave.process.ffmpeg.DefaultFFMPEGLocator;

/**
 * Decodes any container/codec ffmpeg knows (WAV, FLAC, MP3, M4A/AAC, OGG/Opus, WebM/Opus, ...) at any
 * rate and channel count to 16 kHz mono float PCM. The ffmpeg binary ships inside the
 * {@code jave-nativebin-linux64} jar, so no system package is needed. ffmpeg writes raw float32 to
 * a pipe and the samples are read in fixed chunks: the file is never held twice in memory.
 */
public final class AudioDecoder {
  public static final int SAMPLE_RATE = 16_000;
  private static final int CHUNK = 1 << 20; // samples per chunk (4 MiB)
  private static volatile String ffmpeg;

  private AudioDecoder() {}

  /** Path of the bundled ffmpeg executable (extracted once by JAVE into the temp dir). */
  public static String ffmpegPath() {
    String p = ffmpeg;
    if (p == null) {
      synchronized (AudioDecoder.class) {
        if (ffmpeg == null) ffmpeg = new DefaultFFMPEGLocator().getExecutablePath();
        p = ffmpeg;
      }
    }
    return p;
  }

  /** Receives decoded 16 kHz mono samples in order. */
  @FunctionalInterface
  public interface SampleSink {
    void accept(float[] samples, int length);
  }

  /** Decodes the whole file into one array (one copy: chunks are joined once at the end). */
  public static float[] decode(Path file) throws AudioDecodeException {
    List<float[]> chunks = new ArrayList<>();
    long[] total = {0};
    stream(file, (samples, len) -> {
      float[] c = new float[len];
      System.arraycopy(samples, 0, c, 0, len);
      chunks.add(c);
      total[0] += len;
    });
    if (total[0] > Integer.MAX_VALUE) throw new AudioDecodeException("recording is too long (over 37 hours)");
    float[] out = new float[(int) total[0]];
    int pos = 0;
    for (float[] c : chunks) {
      System.arraycopy(c, 0, out, pos, c.length);
      pos += c.length;
    }
    return out;
  }

  /** Streams the decoded samples into {@code sink} in chunks of up to 2^20 samples. */
  public static void stream(Path file, SampleSink sink) throws AudioDecodeException {
    try {
      if (!Files.isRegularFile(file)) throw new AudioDecodeException("no such file: " + file);
      if (Files.size(file) == 0) throw new AudioDecodeException("the file is empty");
    } catch (IOException e) {
      throw new AudioDecodeException("cannot read " + file + ": " + e.getMessage(), e);
    }
    ProcessBuilder pb = new ProcessBuilder(
        ffmpegPath(), "-nostdin", "-hide_banner", "-loglevel", "error",
        "-i", file.toAbsolutePath().toString(),
        "-vn", "-sn", "-dn", "-map", "0:a:0",
        "-ac", "1", "-ar", String.valueOf(SAMPLE_RATE), "-f", "f32le", "-acodec", "pcm_f32le", "pipe:1");
    Path errLog;
    try {
      errLog = Files.createTempFile("parley-ffmpeg", ".log");
    } catch (IOException e) {
      throw new AudioDecodeException("cannot create a temp file: " + e.getMessage(), e);
    }
    pb.redirectError(errLog.toFile());
    Process proc = null;
    try {
      proc = pb.start();
      byte[] buf = new byte[CHUNK * 4];
      float[] samples = new float[CHUNK];
      long count = 0;
      try (InputStream in = new DataInputStream(proc.getInputStream())) {
        int carry = 0;
        while (true) {
          int want = buf.length - carry;
          int n = in.readNBytes(buf, carry, want); // short only at end of stream
          int avail = carry + n;
          int whole = avail / 4;
          if (whole > 0) {
            ByteBuffer.wrap(buf, 0, whole * 4).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(samples, 0, whole);
            sanitize(samples, whole);
            sink.accept(samples, whole);
            count += whole;
          }
          carry = avail - whole * 4;
          if (carry > 0) System.arraycopy(buf, whole * 4, buf, 0, carry);
          if (n < want) break;
        }
      }
      if (!proc.waitFor(60, TimeUnit.SECONDS)) {
        proc.destroyForcibly();
        throw new AudioDecodeException("the decoder did not finish");
      }
      int rc = proc.exitValue();
      String err = Files.readString(errLog).strip();
      if (rc != 0) {
        throw new AudioDecodeException("not decodable audio: " + summarize(err));
      }
      if (count == 0) {
        throw new AudioDecodeException(err.isEmpty() ? "the file holds no audio samples" : "not decodable audio: " + summarize(err));
      }
    } catch (IOException e) {
      throw new AudioDecodeException("decoding failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AudioDecodeException("decoding was interrupted", e);
    } finally {
      if (proc != null && proc.isAlive()) proc.destroyForcibly();
      try {
        Files.deleteIfExists(errLog);
      } catch (IOException ignored) {
        // a leftover temp log is harmless
      }
    }
  }

  /** NaN/Inf in float WAVs would poison every later stage; clamp them to silence. */
  private static void sanitize(float[] s, int n) {
    for (int i = 0; i < n; i++) {
      if (!Float.isFinite(s[i])) s[i] = 0f;
    }
  }

  private static String summarize(String ffmpegError) {
    if (ffmpegError.isEmpty()) return "the decoder rejected the file";
    String[] lines = ffmpegError.split("\n");
    String last = lines[lines.length - 1].strip();
    // ffmpeg prefixes messages with the input path; keep only the reason
    int idx = last.lastIndexOf(": ");
    return idx >= 0 && idx < last.length() - 2 ? last.substring(idx + 2) : last;
  }
}
