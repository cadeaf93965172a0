package dev.parley.gpu.pipeline.audio;

import dev.parley.protocol.audio.WavHeader;
import dev.parley.protocol.blob.AbandonedFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import ws.schild.jave.process.ffmpeg.DefaultFFMPEGLocator;

/**
 * Decodes any container/codec ffmpeg knows (WAV, FLAC, MP3, M4A/AAC, OGG/Opus, WebM/Opus, ...) at any
 * rate and channel count to 16 kHz mono float PCM. The ffmpeg binary ships inside the
 * {@code jave-nativebin-linux64} jar, so no system package is needed. {@link #read} has ffmpeg write
 * raw float32 to a temporary file so that it can allocate the result
 * once, at its exact size, and reports damage ffmpeg decoded past (a truncated upload, corrupt frames)
 * as warnings rather than failing: what can be heard is diarized, and the user is told what was lost.
 */
public final class AudioDecoder {
  public static final int SAMPLE_RATE = 16_000;
  /** Decoded samples take this much memory per hour of audio (16 kHz float): what sizes a job's heap. */
  public static final long MB_PER_AUDIO_HOUR = SAMPLE_RATE * (long) Float.BYTES * 3600 / 1_000_000;
  private static final int CHUNK = 1 << 20; // samples per chunk (4 MiB)
  private static final long DECODE_TIMEOUT_MINUTES = 30;
  /** Prefix of the decoder's temporary files in {@code java.io.tmpdir}. */
  static final String TEMP_PREFIX = "parley-";

  /**
   * The decodes under way: their ffmpeg processes and temp files. A JVM that exits mid-decode (an
   * operator's SIGTERM or Ctrl-C) stops those processes and removes those files, which ffmpeg would
   * otherwise go on writing, about 230 MB an hour of audio, after the JVM is gone.
   */
  private static final Set<Process> RUNNING = ConcurrentHashMap.newKeySet();
  private static final Set<Path> TEMP_FILES = ConcurrentHashMap.newKeySet();
  /** Set by {@link #abandonDecodes}: the JVM is exiting, and no decode may start any more. */
  private static volatile boolean closing;

  static {
    try {
      Runtime.getRuntime().addShutdownHook(new Thread(AudioDecoder::abandonDecodes, "parley-decoder-cleanup"));
    } catch (IllegalStateException exiting) {
      closing = true; // first used while the JVM exits: nothing may start
    }
  }

  /** Stops every decode under way, removes its temp files, and refuses new ones (the JVM's exit; tests). */
  static void abandonDecodes() {
    closing = true;
    RUNNING.forEach(Process::destroyForcibly);
    for (Path p : TEMP_FILES) deleteQuietly(p);
  }

  /** Lets decodes start again after {@link #abandonDecodes} (tests only: a JVM that exits does not come back). */
  static void reopenForTests() {
    closing = false;
  }

  private static void refuseWhenClosing() throws AudioDecodeException {
    if (closing) throw new AudioDecodeException("this process is shutting down: the decode was not started", true, null);
  }

  private static Path tempFile(String kind, String suffix) throws AudioDecodeException {
    refuseWhenClosing();
    try {
      Path p = Files.createTempFile(TEMP_PREFIX + kind, suffix);
      TEMP_FILES.add(p);
      if (closing) { // the exit's cleanup may have passed this file by
        deleteQuietly(p);
        refuseWhenClosing();
      }
      return p;
    } catch (IOException e) {
      throw new AudioDecodeException("cannot create a temp file: " + e.getMessage(), true, e);
    }
  }

  private static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException ignored) {
      // a leftover temp file is harmless: removeAbandonedTempFiles reclaims it later
    }
    TEMP_FILES.remove(p);
  }
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

  /**
   * The most samples {@link #decode} returns: what one Java array holds (37 hours), and no more than
   * 80 % of the heap can take. A recording too long for this process fails at once with a reason,
   * and ffmpeg stops writing its temporary file there.
   */
  static long maxSamples() {
    return Math.min(Integer.MAX_VALUE - 8, Runtime.getRuntime().maxMemory() / Float.BYTES * 4 / 5);
  }

  /**
   * Decodes the whole file into one array of exactly its length. ffmpeg writes raw float32 to a
   * temporary file first, so the size is known before the array is allocated: the samples are held
   * in memory once (an hour is 230 MB), never as chunks plus a joined copy.
   */
  public static DecodedAudio read(Path file) throws AudioDecodeException {
    return read(file, maxSamples());
  }

  /** The samples of {@link #read}, without its warnings. */
  public static float[] decode(Path file) throws AudioDecodeException {
    return read(file).samples();
  }

  /**
   * How many times its own size a file may grow when decoded to 16 kHz float. The speech codecs
   * with the lowest rates ffmpeg decodes (Speex at 2.15 kb/s, AMR at 4.75 kb/s, Opus at 6 kb/s)
   * grow 85 to 240 times; a file that grows more has a header that lies (a 280 KB WAV that claims a
   * rate of 1 Hz resamples to 39 hours, 9 GB).
   */
  static final long MAX_EXPANSION = 1000;

  /**
   * Below this RMS (−60 dBFS) a whole recording is silence, or channels that cancel each other when
   * mixed: a microphone wired in opposite phase on one side of a stereo file is heard by any player
   * and is silence in the mono mix.
   */
  static final double QUIET_RMS = 1e-3;

  /** {@link #read(Path)} that refuses recordings of more than {@code max} samples. */
  static DecodedAudio read(Path file, long max) throws AudioDecodeException {
    DecodedAudio a = withSoundingTrack(file, max);
    double loud = loudDbfs(a.samples());
    double db = liftQuiet(a.samples(), loud);
    if (db == 0) return a;
    List<String> warnings = new ArrayList<>(a.warnings());
    warnings.add(String.format(Locale.ROOT, "the recording is very quiet (its peaks at %.0f dBFS):"
        + " it was raised by %.0f dB", loud, db));
    return new DecodedAudio(a.samples(), warnings);
  }

  /**
   * Peak level (dBFS, see {@link #loudDbfs}) below which a recording is raised: ami-dev's quietest
   * file peaks at -32 dBFS, the simulated meetings at -23 to -9.
   */
  static final double QUIET_DBFS = -40;
  /** Where a quiet recording's peaks are raised to: its speech then lies within the -45..-15 dBFS the detectors learned. */
  static final double LIFT_TO_DBFS = -20;
  static final double MAX_LIFT_DB = 40;

  /**
   * Raises a very quiet recording (a distant recorder at low gain, a float export at -60 dBFS) so
   * that its peaks reach {@link #LIFT_TO_DBFS}, by at most {@link #MAX_LIFT_DB}: the speech detector
   * and the speaker model learned speech at ordinary levels, and at -70 dBFS they missed most of
   * it. Peaks, not a typical level: a recording of a minute's room noise with two seconds of
   * speech has the noise for its typical level, and raising that clipped the speech (a review).
   * Digital silence stays as it is.
   *
   * @param loudDb {@link #loudDbfs} of {@code s}
   * @return the gain applied in dB, 0 when none
   */
  static double liftQuiet(float[] s, double loudDb) {
    if (!(loudDb < QUIET_DBFS) || Double.isInfinite(loudDb)) return 0;
    double db = Math.min(MAX_LIFT_DB, LIFT_TO_DBFS - loudDb);
    float g = (float) Math.pow(10, db / 20);
    for (int i = 0; i < s.length; i++) s[i] = Math.max(-1f, Math.min(1f, s[i] * g));
    return db;
  }

  /**
   * The recording's peak level in dBFS: the 99.9th percentile of its magnitude, which a click
   * does not set and a few seconds of speech in an hour do (-Infinity for silence).
   */
  static double loudDbfs(float[] s) {
    return 20 * Math.log10(magnitudePercentile(s, 0.999, null));
  }

  /** The recording's first audio track with sound (see {@link #read(Path, long)}). */
  private static DecodedAudio withSoundingTrack(Path file, long max) throws AudioDecodeException {
    checkInput(file);
    Decoded track0 = decodeOnce(file, max, 0, null);
    DecodedAudio heard = withOneChannelIfTheyCancel(file, max, 0, track0.audio());
    if (rms(heard.samples()) >= QUIET_RMS || track0.log().audioStreams() < 2) return heard;
    // a recording with several tracks (OBS, a camera, a call recorder) whose first is silent
    for (int track = 1; track < track0.log().audioStreams(); track++) {
      DecodedAudio other = withOneChannelIfTheyCancel(file, max, track, decodeOnce(file, max, track, null).audio());
      if (rms(other.samples()) >= QUIET_RMS) {
        List<String> warnings = new ArrayList<>(other.warnings());
        warnings.add("the first audio track is silent: track " + (track + 1) + " of " + track0.log().audioStreams()
            + " was diarized");
        return new DecodedAudio(other.samples(), warnings);
      }
    }
    return heard;
  }

  /**
   * {@code mixed}, the mono mix of {@code track}; or, when its channels cancel each other in that
   * mix (a microphone wired in opposite phase), the track's first channel alone, with a warning.
   */
  private static DecodedAudio withOneChannelIfTheyCancel(Path file, long max, int track, DecodedAudio mixed)
      throws AudioDecodeException {
    double mixedRms = rms(mixed.samples());
    if (mixedRms >= QUIET_RMS) return mixed;
    boolean bothFit = 2L * mixed.samples().length <= max;
    if (!bothFit) mixed = null; // decoded again below if it is kept
    DecodedAudio first = decodeOnce(file, max, track, "pan=mono|c0=c0").audio();
    if (rms(first.samples()) < Math.max(QUIET_RMS, 10 * mixedRms)) { // silence, or one channel anyway
      return bothFit ? mixed : decodeOnce(file, max, track, null).audio();
    }
    List<String> warnings = new ArrayList<>(first.warnings());
    warnings.add("the channels cancel each other when mixed to mono (one is in opposite phase):"
        + " the first channel alone was diarized");
    return new DecodedAudio(first.samples(), warnings);
  }

  /** One decode and what the decoder logged of the input (its tracks among it). */
  private record Decoded(DecodedAudio audio, DecoderLog log) {}

  /**
   * One ffmpeg run of audio track {@code track} (0 the first) to 16 kHz mono, through the audio
   * filter {@code filter} first when it is not null.
   */
  private static Decoded decodeOnce(Path file, long max, int track, String filter) throws AudioDecodeException {
    long fileBytes;
    try {
      fileBytes = Files.size(file);
    } catch (IOException e) {
      throw new AudioDecodeException("cannot read " + file + ": " + e.getMessage(), true, e);
    }
    long byHeader = Math.max(60L * SAMPLE_RATE, fileBytes * MAX_EXPANSION / Float.BYTES); // a minute for tiny files
    Path raw = tempFile("decode", ".f32");
    try {
      long limit = 4 * Math.min(max, byHeader) + 4;
      DecoderLog log;
      WavHeader wav = wavHeader(file);
      String codec = wav != null && wav.format() == WavHeader.PCM && wav.bitsPerSample() == 32 ? "pcm_s32le" : null;
      try {
        log = runFfmpeg(file, codec, limit, track, filter, raw.toAbsolutePath().toString());
      } catch (UnmixableChannels e) {
        if (filter != null) throw e;
        log = runFfmpeg(file, codec, limit, track, equalMix(e.channels), raw.toAbsolutePath().toString());
      }
      if (wav != null && wav.declaresSize()) log = log.declaring(wav.seconds(wav.declaredDataBytes()));
      long bytes = Files.size(raw);
      if (bytes / 4 > byHeader && byHeader < max) {
        throw new AudioDecodeException(String.format(Locale.ROOT,
            "the file decodes to more audio than its %d bytes can hold (over %.1f hours): its header is wrong",
            fileBytes, byHeader / (SAMPLE_RATE * 3600.0)));
      }
      if (bytes / 4 > max) {
        throw new AudioDecodeException(String.format(Locale.ROOT,
            "the recording is too long for this process: over %.1f hours, and its samples take %d MB an hour"
                + " (the heap holds at most %d MB; give the JVM more with -Xmx)",
            max / (SAMPLE_RATE * 3600.0), MB_PER_AUDIO_HOUR, Runtime.getRuntime().maxMemory() / (1024 * 1024)));
      }
      int n = (int) (bytes / 4);
      if (n == 0) throw new AudioDecodeException("the file holds no audio samples");
      float[] out = new float[n];
      try (FileChannel ch = FileChannel.open(raw, StandardOpenOption.READ)) {
        ByteBuffer buf = ByteBuffer.allocate(CHUNK * 4).order(ByteOrder.LITTLE_ENDIAN);
        int pos = 0;
        while (pos < n) {
          buf.clear();
          buf.limit((int) Math.min(buf.capacity(), 4L * (n - pos)));
          while (buf.hasRemaining()) {
            if (ch.read(buf) < 0) throw new AudioDecodeException("the decoded audio ended early");
          }
          buf.flip();
          int k = buf.remaining() / 4;
          buf.asFloatBuffer().get(out, pos, k);
          pos += k;
        }
      }
      Sanitized sane = sanitize(out);
      List<String> warnings = new ArrayList<>(log.warnings(n / (double) SAMPLE_RATE));
      if (sane.scaled() >= 100) {
        warnings.add(String.format(Locale.ROOT, "the samples lie at about %.0f times full scale (a float"
            + " file written in integer units?): the recording was scaled down to full scale", sane.scaled()));
      } else if (sane.scaled() > 1) {
        warnings.add(String.format(Locale.ROOT, "the recording goes beyond full scale (its loud passages at about"
            + " %.1f times): it was scaled down to full scale rather than clipped", sane.scaled()));
      }
      if (sane.damaged() > 0) {
        warnings.add(String.format(Locale.ROOT, "%d samples (%.2f s) were not numbers or lay far beyond full scale"
            + " (damaged data?) and were silenced", sane.damaged(), sane.damaged() / (double) SAMPLE_RATE));
      }
      return new Decoded(new DecodedAudio(out, warnings), log);
    } catch (IOException e) {
      throw new AudioDecodeException("decoding failed: " + e.getMessage(), true, e);
    } finally {
      deleteQuietly(raw);
    }
  }

  static double rms(float[] x) {
    double sum = 0;
    for (float v : x) sum += (double) v * v;
    return x.length == 0 ? 0 : Math.sqrt(sum / x.length);
  }

  /**
   * The containers ffmpeg may open: audio files and the audio/video containers recordings come in.
   * A playlist or list format (HLS, DASH, concat, SDP, image sequences) names other files, and ffmpeg
   * would read those from this node's disk: an uploaded playlist pointing at a recording on the node
   * diarized that recording for whoever uploaded it. Names as {@code ffmpeg -demuxers} lists them.
   */
  static final String FORMATS = String.join(",", List.of(
      "wav", "w64", "aiff", "caf", "au", "nistsphere", "sox", "voc", "flac", "wv", "ape", "tta", "tak", "shn",
      "mp3", "aac", "loas", "ac3", "eac3", "dts", "truehd", "mlp", "mpc", "mpc8", "oma", "dsf", "xwma",
      "amr", "amrnb", "amrwb", "gsm", "g722", "qcp", "ilbc", "sln",
      "ogg", "matroska", "mov", "asf", "avi", "flv", "mpeg", "mpegts", "rm"));

  private static void checkInput(Path file) throws AudioDecodeException {
    try {
      if (!Files.isRegularFile(file)) {
        throw new AudioDecodeException((Files.exists(file) ? "not a regular file: " : "no such file: ") + file);
      }
      if (Files.size(file) == 0) throw new AudioDecodeException("the file is empty");
    } catch (IOException e) {
      throw new AudioDecodeException("cannot read " + file + ": " + e.getMessage(), true, e);
    }
  }

  /**
   * Runs ffmpeg to the file {@code target} (reading the input with {@code codec} when it is not
   * null, through the audio filter {@code filter} when it is not null), writing at most about
   * {@code maxBytes}, and fails with ffmpeg's reason when it does; otherwise returns what it logged.
   */
  private static DecoderLog runFfmpeg(Path file, String codec, long maxBytes, int track, String filter, String target)
      throws AudioDecodeException {
    List<String> cmd = new ArrayList<>(List.of(
        ffmpegPath(), "-nostdin", "-nostats", "-hide_banner", "-loglevel", "level+info", "-y",
        "-format_whitelist", FORMATS));
    // the bundled ffmpeg takes 24-bit integer samples in 32-bit containers (WAVE_FORMAT_EXTENSIBLE,
    // as recorders write them) for 24-bit floats and decodes noise at 10^31 times full scale
    if (codec != null) cmd.addAll(List.of("-c:a", codec));
    cmd.addAll(List.of("-i", file.toAbsolutePath().toString(), "-vn", "-sn", "-dn", "-map", "0:a:" + track));
    // async: where the decoder skipped damaged frames of a container with timestamps (MP4, WebM,
    // Ogg), silence fills their time, so the turns after the damage stay where they are heard;
    // first_pts=0: a track that starts after the container's start (a video whose sound begins
    // late) is padded with silence from 0, so the turns keep the times a player shows
    cmd.addAll(List.of("-af", "aresample=async=1:first_pts=0" + (filter != null ? "," + filter : "")));
    cmd.addAll(List.of("-ac", "1", "-ar", String.valueOf(SAMPLE_RATE), "-f", "f32le", "-acodec", "pcm_f32le",
        "-fs", String.valueOf(maxBytes), target));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
    pb.redirectInput(ProcessBuilder.Redirect.PIPE);
    Path errLog = tempFile("ffmpeg", ".log");
    pb.redirectError(errLog.toFile());
    Process proc = null;
    try {
      proc = pb.start();
      RUNNING.add(proc);
      refuseWhenClosing(); // the exit's cleanup may have run between start() and add(): finally stops it
      proc.getOutputStream().close();
      if (!proc.waitFor(DECODE_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
        proc.destroyForcibly();
        throw new AudioDecodeException("the decoder did not finish within " + DECODE_TIMEOUT_MINUTES + " minutes");
      }
      String text = readHead(errLog);
      DecoderLog log = DecoderLog.parse(text);
      int exit = proc.exitValue();
      if (exit != 0) throw failure(exit, text, log);
      return log;
    } catch (IOException e) {
      throw new AudioDecodeException("decoding failed: " + e.getMessage(), true, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AudioDecodeException("decoding was interrupted", true, e);
    } finally {
      if (proc != null) {
        if (proc.isAlive()) proc.destroyForcibly();
        RUNNING.remove(proc);
      }
      deleteQuietly(errLog);
    }
  }

  /**
   * ffmpeg mixes to mono by the channels' layout, and names none beyond 16 channels (a microphone
   * array, a 32-track recorder): "Rematrix is needed between 32 channels and mono but there is not
   * enough information to do it".
   */
  private static final Pattern UNMIXABLE = Pattern.compile("Rematrix is needed between (\\d+) channels and mono");

  /** The decoder could not mix this many channels of no known layout to mono. */
  private static final class UnmixableChannels extends AudioDecodeException {
    final int channels;

    UnmixableChannels(int channels) {
      super("not decodable audio: " + channels + " channels of no known layout could not be mixed to mono");
      this.channels = channels;
    }
  }

  /**
   * A pan filter that mixes {@code channels} channels to mono with equal weights of 1/sqrt(n): the
   * level of independent tracks (a talker each) is kept, where 1/n would put 32 of them 30 dB down,
   * below the silence check; channels that all carry one sound add up beyond full scale and are
   * scaled back by {@link #sanitize}.
   */
  static String equalMix(int channels) {
    String weight = String.format(Locale.ROOT, "%.6f", 1.0 / Math.sqrt(channels));
    return IntStream.range(0, channels).mapToObj(c -> weight + "*c" + c).collect(Collectors.joining("+", "pan=mono|c0=", ""));
  }

  /**
   * The file's WAV header, or null when it is no WAV: its sample format, and how long it says it is
   * (ffmpeg estimates a cut WAV's duration from its size instead, which would hide the cut).
   */
  private static WavHeader wavHeader(Path file) throws IOException {
    try (var in = Files.newInputStream(file)) {
      return WavHeader.parse(in.readNBytes(64 * 1024));
    }
  }

  /** The first 256 KB of the decoder's log: a file corrupt throughout logs an error per frame. */
  private static String readHead(Path log) throws IOException {
    try (var in = Files.newInputStream(log)) {
      return new String(in.readNBytes(256 * 1024), StandardCharsets.UTF_8);
    }
  }

  /**
   * Makes the decoded samples safe for every later stage and brings them within full scale (±1).
   * NaN and infinities (float WAVs) become silence. A float file written in integer units sits at
   * thousands of times full scale throughout, far outside any level the detectors learned: it is
   * scaled down by its 99.9th percentile of magnitude (not its peak, which one glitch would set),
   * and the few samples still beyond full scale are clipped. In a file at a normal level (most of
   * its seconds with any sound peak within full scale) samples more than {@link #DAMAGED} times full
   * scale are damaged data (random bytes read as floats lie at up to 10^38) and become silence;
   * scaling by them silenced whole meetings. Of the rest, a float recording above 0 dBFS (a 32-bit
   * float field recorder, a mix summed hot) is scaled down by its 99.99th percentile outside the
   * seconds that held damage, so its loud passages are not clipped flat; the few samples beyond
   * that, and a glitch in a file otherwise within full scale, are clipped.
   */
  static Sanitized sanitize(float[] s) {
    int damaged = 0;
    for (int i = 0; i < s.length; i++) {
      if (!Float.isFinite(s[i])) {
        s[i] = 0f;
        damaged++;
      }
    }
    float k = 1;
    if (typicalSecondPeak(s) > 2) {
      float level = magnitudePercentile(s, 0.999, null);
      if (level > 1) k = 1 / level;
    }
    if (k == 1) {
      boolean[] damagedSecond = new boolean[(s.length + SAMPLE_RATE - 1) / SAMPLE_RATE];
      for (int i = 0; i < s.length; i++) {
        if (Math.abs(s[i]) > DAMAGED) {
          s[i] = 0f;
          damaged++;
          damagedSecond[i / SAMPLE_RATE] = true;
        }
      }
      // random bytes read as floats put about half their values beyond DAMAGED: a second that held
      // damage may hold more of it within range, so it does not set the level. And only a recording
      // whose loud passages go beyond full scale throughout is hot: a glitch in a second or two is
      // clipped, not taken for the level of the whole (scaling by it put the speech at -60 dBFS)
      if (hotThroughout(s, damagedSecond)) {
        float level = magnitudePercentile(s, 0.9999, damagedSecond);
        if (level > 1) k = 1 / level;
      }
    }
    for (int i = 0; i < s.length; i++) {
      float v = s[i] * k;
      s[i] = v > 1 ? 1 : v < -1 ? -1 : v;
    }
    return new Sanitized(1 / k, damaged);
  }

  /**
   * Whether at least 3 seconds, and a fifth of the seconds with any sound (those that held damage
   * left out), peak beyond full scale.
   */
  private static boolean hotThroughout(float[] s, boolean[] damagedSecond) {
    int sounding = 0;
    int hot = 0;
    for (int sec = 0; sec < damagedSecond.length; sec++) {
      if (damagedSecond[sec]) continue;
      float peak = 0;
      for (int i = sec * SAMPLE_RATE; i < Math.min(s.length, (sec + 1) * SAMPLE_RATE); i++) peak = Math.max(peak, Math.abs(s[i]));
      if (peak > 0) sounding++;
      if (peak > 1) hot++;
    }
    return hot >= 3 && hot >= 0.2 * sounding;
  }

  /** Magnitude beyond which a sample of a file at a normal level is damaged data: 60 dB over full scale. */
  static final float DAMAGED = 1000f;

  /**
   * @param scaled the factor the samples were scaled down by (1 when they were not)
   * @param damaged samples that were not numbers or lay beyond {@link #DAMAGED}, now silence
   */
  record Sanitized(float scaled, int damaged) {}

  /**
   * The (lower) median of each second's peak magnitude over the recording's seconds that hold any
   * sound (digital silence says nothing of the scale): damage in a few seconds does not move it.
   */
  static float typicalSecondPeak(float[] s) {
    int seconds = (s.length + SAMPLE_RATE - 1) / SAMPLE_RATE;
    float[] peaks = new float[seconds];
    for (int i = 0; i < s.length; i++) peaks[i / SAMPLE_RATE] = Math.max(peaks[i / SAMPLE_RATE], Math.abs(s[i]));
    float[] sounding = new float[seconds];
    int n = 0;
    for (float p : peaks) if (p > 0) sounding[n++] = p;
    if (n == 0) return 0;
    Arrays.sort(sounding, 0, n);
    return sounding[(n - 1) / 2];
  }

  /**
   * The {@code q} quantile of |s|, from at most about 200,000 evenly spaced samples, leaving out
   * the seconds {@code skipSecond} marks (null: none).
   */
  static float magnitudePercentile(float[] s, double q, boolean[] skipSecond) {
    int stride = Math.max(1, s.length / 200_000);
    float[] a = new float[(s.length + stride - 1) / stride];
    int n = 0;
    for (int i = 0; i < s.length; i += stride) {
      if (skipSecond == null || !skipSecond[i / SAMPLE_RATE]) a[n++] = Math.abs(s[i]);
    }
    if (n == 0) return 0;
    Arrays.sort(a, 0, n);
    return a[(int) Math.min(n - 1, Math.floor(q * n))];
  }

  /** Why the decoder exited with {@code exit} (not 0), from what it wrote ({@code text}). */
  static AudioDecodeException failure(int exit, String text, DecoderLog log) {
    if (exit > 128) {
      // killed by a signal (128 + its number): the OOM killer, a file-size limit; the node's trouble
      return new AudioDecodeException("the decoder was killed by signal " + (exit - 128) + " on this node", true, null);
    }
    if (text.contains("No space left on device")) {
      // the decoded samples go to java.io.tmpdir: the node's disk, not the file, is at fault (a review:
      // such a meeting failed for good as "not decodable audio")
      return new AudioDecodeException("the node's disk is full (" + System.getProperty("java.io.tmpdir")
          + "): the decoded audio could not be written", true, null);
    }
    Matcher unmixable = UNMIXABLE.matcher(text);
    if (unmixable.find()) return new UnmixableChannels(Integer.parseInt(unmixable.group(1)));
    return new AudioDecodeException("not decodable audio: " + log.reason());
  }

  /**
   * Deletes the decoder's temporary files in {@code dir} (normally {@code java.io.tmpdir}) that are
   * older than {@code age}: what a process killed while decoding left behind, up to 230 MB per hour
   * of audio. A decode takes seconds and is stopped after 30 minutes, so an hour old is abandoned.
   *
   * @return how many were deleted
   */
  public static int removeAbandonedTempFiles(Path dir, Duration age) {
    return AbandonedFiles.delete(dir, name -> name.startsWith(TEMP_PREFIX + "decode") && name.endsWith(".f32")
        || name.startsWith(TEMP_PREFIX + "ffmpeg") && name.endsWith(".log"), age);
  }

}
