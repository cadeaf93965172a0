package dev.parley.gpu.pipeline.audio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every container and codec browsers and recorders produce, made by the bundled ffmpeg from a 440 Hz tone. */
class AudioDecoderTest {
  @TempDir static Path dir;

  /** Encodes a 2 s, 440 Hz sine at {@code rate} Hz with {@code channels} channels. */
  static Path make(String name, int rate, int channels, String... codecArgs) throws Exception {
    return make(name, rate, channels, 2, codecArgs);
  }

  /** Encodes a {@code seconds} long 440 Hz sine at {@code rate} Hz with {@code channels} channels. */
  static Path make(String name, int rate, int channels, int seconds, String... codecArgs) throws Exception {
    Path out = dir.resolve(name);
    List<String> cmd = new ArrayList<>(List.of(AudioDecoder.ffmpegPath(), "-nostdin", "-v", "error", "-y",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=" + rate + ":duration=" + seconds,
        "-ac", String.valueOf(channels)));
    cmd.addAll(Arrays.asList(codecArgs));
    cmd.add(out.toString());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), "ffmpeg could not make " + name + ": " + log);
    return out;
  }

  /** Frequency from zero crossings over the middle second. */
  static double frequency(float[] x) {
    int from = x.length / 4;
    int to = 3 * x.length / 4;
    int crossings = 0;
    for (int i = from + 1; i < to; i++) if ((x[i - 1] < 0) != (x[i] < 0)) crossings++;
    return crossings / 2.0 / ((to - from) / (double) AudioDecoder.SAMPLE_RATE);
  }

  static double rms(float[] x) {
    double s = 0;
    for (float v : x) s += v * v;
    return Math.sqrt(s / x.length);
  }

  @ParameterizedTest(name = "{0} at {1} Hz, {2} ch")
  @CsvSource({
    "s16.wav, 16000, 1, -c:a pcm_s16le",
    "s24.wav, 44100, 2, -c:a pcm_s24le",
    "s32.wav, 48000, 1, -c:a pcm_s32le",
    "f32.wav, 8000, 1, -c:a pcm_f32le",
    "six.wav, 48000, 6, -c:a pcm_s16le",
    "a.flac, 44100, 2, -c:a flac",
    "a.mp3, 44100, 2, -c:a libmp3lame -b:a 128k",
    "a.m4a, 48000, 2, -c:a aac -b:a 128k",
    "a.ogg, 48000, 2, -c:a libopus -b:a 64k",
    "a.opus, 48000, 1, -c:a libopus -b:a 32k",
    "a.webm, 48000, 2, -c:a libopus -b:a 64k",
    "a.mka, 48000, 2, -c:a flac",
    "a.wma, 44100, 2, -c:a wmav2",
    "a.aiff, 44100, 2, -c:a pcm_s16be",
    "a.caf, 22050, 1, -c:a pcm_s16le",
  })
  void decodesToSixteenKilohertzMono(String name, int rate, int channels, String codec) throws Exception {
    Path f = make(name, rate, channels, codec.split(" "));
    float[] x = AudioDecoder.decode(f);
    double seconds = x.length / (double) AudioDecoder.SAMPLE_RATE;
    assertEquals(2.0, seconds, 0.1, name + " duration");
    assertEquals(440, frequency(x), 10, name + " pitch");
    assertTrue(rms(x) > 0.05, name + " level " + rms(x));
    for (float v : x) assertTrue(Float.isFinite(v) && Math.abs(v) <= 1.5f);
  }

  @Test
  void emptyFileIsRejected() throws IOException {
    Path f = Files.createFile(dir.resolve("empty.wav"));
    AudioDecodeException e = assertThrows(AudioDecodeException.class, () -> AudioDecoder.decode(f));
    assertTrue(e.getMessage().contains("empty"), e.getMessage());
  }

  @Test
  void missingFileIsRejected() {
    AudioDecodeException e = assertThrows(AudioDecodeException.class, () -> AudioDecoder.decode(dir.resolve("nope.wav")));
    assertTrue(e.getMessage().contains("no such file"), e.getMessage());
  }

  @Test
  void textIsNotAudio() throws IOException {
    Path f = Files.writeString(dir.resolve("notes.txt"), "minutes of the meeting\nnothing to hear here\n");
    AudioDecodeException e = assertThrows(AudioDecodeException.class, () -> AudioDecoder.decode(f));
    assertTrue(e.getMessage().startsWith("not decodable audio"), e.getMessage());
  }

  /**
   * A security review: an uploaded HLS playlist naming a recording on the node's disk was decoded as
   * that recording. Only the uploaded file itself is audio; a list of files (ffconcat) is not followed either.
   */
  @Test
  void aPlaylistOfOtherFilesIsNotFollowed() throws Exception {
    Path elsewhere = make("elsewhere.wav", 16000, 1, "-c:a", "pcm_s16le");
    AudioDecodeException e = notDecoded("playlist.m3u8",
        "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:2.0,\n" + elsewhere + "\n#EXT-X-ENDLIST\n", elsewhere);
    assertTrue(e.getMessage().contains("not an audio or video file: it reads as 'hls'"), e.getMessage());
    notDecoded("list.ffconcat", "ffconcat version 1.0\nfile '" + elsewhere + "'\n", elsewhere);
  }

  private static AudioDecodeException notDecoded(String name, String content, Path elsewhere) throws IOException {
    Path f = Files.writeString(dir.resolve(name), content);
    AudioDecodeException e = assertThrows(AudioDecodeException.class, () -> AudioDecoder.decode(f));
    assertTrue(!e.retryable(), "the file, not the node: " + e.getMessage());
    assertTrue(!e.getMessage().contains(elsewhere.toString()), e.getMessage());
    return e;
  }

  /**
   * A review: a decoder the node lost (the OOM killer, a file-size limit) was reported as a file
   * that is not audio, and its meeting failed for good. A decoder killed by a signal is the node's
   * trouble: retryable. ffmpeg stands in here as a script that kills itself.
   */
  @Test
  void aDecoderKilledByASignalIsTheNodesTroubleNotTheFiles() throws Exception {
    Path wav = make("killed.wav", 16000, 1, "-c:a", "pcm_s16le");
    assertEquals(32_000, AudioDecoder.decode(wav).length, 800, "the real decoder takes it");
    Path fake = Files.writeString(dir.resolve("ffmpeg-killed.sh"), "#!/bin/sh\nkill -9 $$\n");
    fake.toFile().setExecutable(true);
    Field f = AudioDecoder.class.getDeclaredField("ffmpeg");
    f.setAccessible(true);
    String real = AudioDecoder.ffmpegPath();
    f.set(null, fake.toString());
    try {
      AudioDecodeException e = assertThrows(AudioDecodeException.class, () -> AudioDecoder.decode(wav));
      assertEquals("the decoder was killed by signal 9 on this node", e.getMessage());
      assertTrue(e.retryable());
    } finally {
      f.set(null, real);
    }
    // a review: a full disk under the decoded samples failed the meeting for good, as "not decodable audio"
    Path full = Files.writeString(dir.resolve("ffmpeg-full.sh"),
        "#!/bin/sh\necho 'av_interleaved_write_frame(): No space left on device' >&2\nexit 1\n");
    full.toFile().setExecutable(true);
    f.set(null, full.toString());
    try {
      AudioDecodeException e = assertThrows(AudioDecodeException.class, () -> AudioDecoder.decode(wav));
      assertTrue(e.getMessage().startsWith("the node's disk is full"), e.getMessage());
      assertTrue(e.retryable());
    } finally {
      f.set(null, real);
    }
    AudioDecodeException text = assertThrows(AudioDecodeException.class,
        () -> AudioDecoder.decode(Files.writeString(dir.resolve("words.txt"), "no sound here\n")));
    assertTrue(!text.retryable(), "a file that is not audio stays the file's trouble");
  }

  /** A review: a float WAV at 32768 times full scale turned its pauses into speech and invented overlaps. */
  @Test
  void aFloatFileBeyondFullScaleIsScaledDown() throws Exception {
    Path loud = make("loud.wav", 16000, 1, "-af", "volume=32768", "-c:a", "pcm_f32le");
    DecodedAudio a = AudioDecoder.read(loud);
    float peak = 0;
    for (float v : a.samples()) peak = Math.max(peak, Math.abs(v));
    assertEquals(1.0, peak, 1e-6);
    assertEquals(440, frequency(a.samples()), 10);
    assertTrue(a.warnings().get(0).startsWith("the samples lie at about "), a.warnings().toString());
    assertEquals(List.of(), AudioDecoder.read(make("plain.wav", 16000, 1, "-c:a", "pcm_f32le")).warnings());
  }

  /** QA: a float recording above 0 dBFS (here 3.5 dB over) was clipped flat, without a word. */
  @Test
  void aFloatRecordingAboveFullScaleIsScaledNotClipped() throws Exception {
    Path hot = make("hot.wav", 16000, 1, 6, "-af", "volume=12", "-c:a", "pcm_f32le"); // sine peaks at 1.5 for 6 s
    DecodedAudio a = AudioDecoder.read(hot);
    float peak = 0;
    for (float v : a.samples()) peak = Math.max(peak, Math.abs(v));
    assertEquals(1.0, peak, 1e-3);
    assertEquals(1 / Math.sqrt(2), rms(a.samples()), 0.01, "a sine's level below its peak: not flattened");
    assertTrue(a.warnings().size() == 1 && a.warnings().get(0).startsWith("the recording goes beyond full scale"),
        a.warnings().toString());
  }

  /**
   * QA: ami-dev turned down to -50 dBFS peaks lost twice the speech (missed 22 -> 40 %): the
   * detectors never heard speech that quiet. Such a recording is raised, with a warning.
   */
  @Test
  void aVeryQuietRecordingIsRaisedAndAnOrdinaryOneIsNot() throws Exception {
    DecodedAudio quiet = AudioDecoder.read(make("quiet.wav", 16000, 1, "-af", "volume=0.01", "-c:a", "pcm_f32le"));
    float peak = 0;
    for (float v : quiet.samples()) peak = Math.max(peak, Math.abs(v));
    assertEquals(-20, 20 * Math.log10(peak), 0.5, "peaks at -58 dBFS raised to -20");
    assertTrue(quiet.warnings().size() == 1 && quiet.warnings().get(0).contains("raised by 38 dB"), quiet.warnings().toString());
    DecodedAudio ordinary = AudioDecoder.read(make("ordinary.wav", 16000, 1, "-c:a", "pcm_s16le"));
    assertEquals(List.of(), ordinary.warnings());
    assertEquals(0.125 / Math.sqrt(2), rms(ordinary.samples()), 0.005);
    float[] silence = new float[32_000];
    assertEquals(0, AudioDecoder.liftQuiet(silence, AudioDecoder.loudDbfs(silence)));
    float[] faint = new float[32_000];
    for (int i = 0; i < faint.length; i++) faint[i] = (float) (1e-6 * Math.sin(i * 0.3)); // -123 dBFS
    assertEquals(AudioDecoder.MAX_LIFT_DB, AudioDecoder.liftQuiet(faint, AudioDecoder.loudDbfs(faint)), 1e-9, "raised by the most, not to -20 dBFS");
    // the review: a minute of room noise at -80 dBFS with 2 s of speech-level tone was raised by 39 dB and clipped
    float[] sparse = new float[60 * 16_000];
    java.util.Random r = new java.util.Random(3);
    for (int i = 0; i < sparse.length; i++) sparse[i] = (float) (1e-4 * r.nextGaussian());
    for (int i = 30 * 16_000; i < 32 * 16_000; i++) sparse[i] += (float) (0.05 * Math.sin(i * 0.2));
    assertEquals(0, AudioDecoder.liftQuiet(sparse, AudioDecoder.loudDbfs(sparse)), "its speech is at an ordinary level");
  }

  /** A review: 100 glitch samples at 200 times full scale made a whole recording count as hot, and scaled it down 46 dB. */
  @Test
  void aGlitchInOneSecondIsClippedNotTakenForTheLevel() {
    float[] x = new float[10 * 16_000];
    for (int i = 0; i < x.length; i++) x[i] = (float) (0.3 * Math.sin(i * 0.17));
    for (int i = 0; i < 100; i++) x[50_000 + i] = 200f;
    assertEquals(new AudioDecoder.Sanitized(1f, 0), AudioDecoder.sanitize(x));
    assertEquals(0.3 * Math.sin(1_000 * 0.17), x[1_000], 1e-6, "the rest keeps its level");
    assertEquals(1f, x[50_000], "the glitch is clipped");
  }

  /** A second review: scaled by its peak, one glitch of 500,000 silenced a whole meeting (0 speakers). */
  @Test
  void aSpikeIsSilencedAndTheRestKeepsItsLevel() {
    float[] x = new float[160_000];
    for (int i = 0; i < x.length; i++) x[i] = (float) (0.1 * Math.sin(i * 0.17));
    x[80_000] = 5e5f;
    x[90_000] = 1.5f;
    assertEquals(new AudioDecoder.Sanitized(1f, 1), AudioDecoder.sanitize(x));
    assertEquals(0f, x[80_000]);
    assertEquals(1f, x[90_000], "slightly beyond full scale: clipped");
    assertEquals(0.1, x[1_000] / Math.sin(1_000 * 0.17), 1e-6, "the rest untouched");
  }

  /**
   * QA: a float WAV with under a second of random bytes in it (3 % of its samples) was scaled down
   * by the damage's magnitude, 10^36, and came out silent: 0 speakers. The damage is silenced and
   * the rest keeps its level, with a warning.
   */
  @Test
  void aDamagedStretchOfAFloatFileIsSilencedNotTheWholeFile() throws Exception {
    Path plain = make("damaged.wav", 16000, 1, 4, "-c:a", "pcm_f32le");
    byte[] bytes = Files.readAllBytes(plain);
    Random random = new Random(7);
    byte[] garbage = new byte[60_000];
    random.nextBytes(garbage);
    System.arraycopy(garbage, 0, bytes, 40_000, garbage.length); // 0.94 s of the 4 s tone
    Files.write(plain, bytes);
    DecodedAudio a = AudioDecoder.read(plain);
    assertEquals(440, frequency(Arrays.copyOfRange(a.samples(), 32_000, 48_000)), 10, "the tone after the damage");
    float peak = 0;
    for (int i = 32_000; i < 48_000; i++) peak = Math.max(peak, Math.abs(a.samples()[i]));
    assertTrue(peak > 0.05, "the undamaged part kept its level: peak " + peak);
    assertTrue(a.warnings().stream().anyMatch(w -> w.contains("damaged data")), a.warnings().toString());
  }

  /** A review: a recording whose first track is silent (OBS, a camera) gave 0 speakers and no word why. */
  @Test
  void aSilentFirstTrackGivesWayToOneWithSound() throws Exception {
    Path f = dir.resolve("tracks.m4a");
    Process p = new ProcessBuilder(AudioDecoder.ffmpegPath(), "-nostdin", "-v", "error", "-y",
        "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo:d=2", "-f", "lavfi", "-i", "sine=frequency=440:d=2",
        "-map", "0:a", "-map", "1:a", "-c:a", "aac", f.toString()).redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), log);
    DecodedAudio a = AudioDecoder.read(f);
    assertEquals(440, frequency(a.samples()), 10);
    assertEquals(List.of("the first audio track is silent: track 2 of 2 was diarized"), a.warnings());
  }

  /**
   * A review: damage inside an M4A shortened the decode by what the decoder skipped, and every
   * turn after it came early. Its timestamps now keep the time, filled with silence.
   */
  @Test
  void damageInsideAnM4aKeepsTheLaterAudioInPlace() throws Exception {
    Path good = make("tone10.m4a", 16000, 1, 10, "-c:a", "aac", "-b:a", "128k");
    byte[] b = Files.readAllBytes(good);
    Arrays.fill(b, b.length / 2, b.length / 2 + b.length / 8, (byte) 0x55);
    Path damaged = Files.write(dir.resolve("damaged10.m4a"), b);
    DecodedAudio a = AudioDecoder.read(damaged);
    assertEquals(10.0, a.samples().length / (double) AudioDecoder.SAMPLE_RATE, 0.1, "duration");
    assertTrue(a.warnings().get(0).startsWith("the decoder skipped damaged data"), a.warnings().toString());
  }

  @Test
  void anImageIsNotARecording() throws IOException {
    Path f = dir.resolve("slide.png");
    ImageIO.write(new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB), "png", f.toFile());
    AudioDecodeException e = assertThrows(AudioDecodeException.class, () -> AudioDecoder.decode(f));
    assertEquals("not decodable audio: not an audio or video file: it reads as 'png_pipe' (a playlist, a list of"
        + " other files or a picture), which Parley does not decode", e.getMessage());
  }

  @Test
  void randomBytesAreNotAudio() throws IOException {
    byte[] junk = new byte[50_000];
    new Random(7).nextBytes(junk);
    Path f = Files.write(dir.resolve("junk.mp3"), junk);
    assertThrows(AudioDecodeException.class, () -> AudioDecoder.decode(f));
  }

  @Test
  void truncatedContainerIsRejected() throws Exception {
    Path whole = make("cut.m4a", 48000, 1, "-c:a", "aac");
    byte[] b = Files.readAllBytes(whole);
    Path f = Files.write(dir.resolve("cut-half.m4a"), Arrays.copyOf(b, 200));
    AudioDecodeException e = assertThrows(AudioDecodeException.class, () -> AudioDecoder.decode(f));
    assertTrue(e.getMessage().length() > 10, e.getMessage());
  }

  @Test
  void headerWithoutSamplesIsRejected() throws Exception {
    Path whole = make("hdr.wav", 16000, 1, "-c:a", "pcm_s16le");
    byte[] b = Files.readAllBytes(whole);
    Path f = Files.write(dir.resolve("hdr-only.wav"), Arrays.copyOf(b, 44));
    assertThrows(AudioDecodeException.class, () -> AudioDecoder.decode(f));
  }

  /** A cut-off upload or recording keeps what is there, and says what is missing. */
  @ParameterizedTest(name = "{0}")
  @CsvSource({
    "cut.wav, -c:a pcm_s16le",
    "cut.flac, -c:a flac",
    "cut.mp3, -c:a libmp3lame -b:a 128k",
    "cut.webm, -c:a libopus -b:a 64k",
  })
  void aTruncatedFileKeepsWhatIsThereAndWarns(String name, String codec) throws Exception {
    Path whole = make("long-" + name, 48000, 1, 8, codec.split(" "));
    DecodedAudio full = AudioDecoder.read(whole);
    assertEquals(List.of(), full.warnings(), name + " whole");
    byte[] b = Files.readAllBytes(whole);
    Path f = Files.write(dir.resolve("half-" + name), Arrays.copyOf(b, b.length / 2 + 1)); // cut mid-sample too
    DecodedAudio half = AudioDecoder.read(f);
    assertEquals(4.0, half.samples().length / 16000.0, 0.6, name + " duration");
    assertEquals(1, half.warnings().size(), name + ": " + half.warnings());
    assertTrue(half.warnings().get(0).startsWith("the recording ends early: 0:0") 
        && half.warnings().get(0).contains("of the 0:08.0 its header declares"), half.warnings().get(0));
  }

  /** A stereo file whose right channel is the left one inverted is silence when mixed; one channel is not. */
  @Test
  void channelsInOppositePhaseAreNotMixedIntoSilence() throws Exception {
    Path f = dir.resolve("antiphase.wav");
    Process p = new ProcessBuilder(AudioDecoder.ffmpegPath(), "-nostdin", "-v", "error", "-y", "-f", "lavfi",
        "-i", "sine=frequency=440:sample_rate=48000:duration=2", "-af", "pan=stereo|c0=c0|c1=-1*c0",
        "-c:a", "pcm_s16le", f.toString()).redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, log);
    DecodedAudio a = AudioDecoder.read(f);
    assertEquals(440, frequency(a.samples()), 10);
    assertTrue(rms(a.samples()) > 0.05, "level " + rms(a.samples()));
    assertEquals(1, a.warnings().size(), a.warnings().toString());
    assertTrue(a.warnings().get(0).contains("opposite phase"), a.warnings().get(0));
    // silence stays silence, without a warning
    Path quiet = make("quiet.wav", 48000, 2, "-af", "volume=0", "-c:a", "pcm_s16le");
    DecodedAudio q = AudioDecoder.read(quiet);
    assertEquals(List.of(), q.warnings());
    assertEquals(0.0, rms(q.samples()), 1e-6);
  }

  @Test
  void aRecordingLongerThanTheLimitIsRefusedWithAReason() throws Exception {
    Path two = make("two-seconds.wav", 16000, 1, "-c:a", "pcm_s16le");
    assertEquals(32000, AudioDecoder.read(two, 32000).samples().length);
    AudioDecodeException e = assertThrows(AudioDecodeException.class, () -> AudioDecoder.read(two, 31999));
    assertTrue(e.getMessage().contains("too long") && e.getMessage().contains("-Xmx"), e.getMessage());
    // a 280 KB file whose header claims 1 Hz: 140,000 samples are 39 hours once resampled to 16 kHz
    ByteBuffer h = ByteBuffer.allocate(44 + 280_000).order(ByteOrder.LITTLE_ENDIAN);
    h.put("RIFF".getBytes()).putInt(36 + 280_000).put("WAVEfmt ".getBytes()).putInt(16).putShort((short) 1)
        .putShort((short) 1).putInt(1).putInt(2).putShort((short) 2).putShort((short) 16)
        .put("data".getBytes()).putInt(280_000);
    Path slow = Files.write(dir.resolve("one-hertz.wav"), h.array());
    e = assertThrows(AudioDecodeException.class, () -> AudioDecoder.decode(slow));
    assertTrue(e.getMessage().contains("its header is wrong"), e.getMessage());
  }

  /**
   * QA: a 32-channel recording (a microphone array, a multitrack recorder) failed with "Failed to
   * configure output pad on Parsed_aresample_0": ffmpeg names no channel layout beyond 16 and would
   * not mix them to mono. They are mixed with equal weights instead.
   */
  @Test
  void thirtyTwoChannelsOfNoLayoutAreMixedToMono() throws Exception {
    int frames = 32_000;
    byte[] wav = pcm16(32, frames, (f, c) -> c % 2 == 0 ? 8000 * Math.sin(2 * Math.PI * 440 * f / 16000.0) : 0);
    DecodedAudio a = AudioDecoder.read(Files.write(dir.resolve("array.wav"), wav));
    assertEquals(frames, a.samples().length, 200);
    assertEquals(440, frequency(a.samples()), 10);
    double rms = 0;
    for (float v : a.samples()) rms += v * v;
    assertEquals(8000 / 32768.0 * 16 / Math.sqrt(32) / Math.sqrt(2), Math.sqrt(rms / a.samples().length), 0.01,
        "half the channels, each weighted 1/sqrt(32)");
    assertEquals(List.of(), a.warnings());
  }

  interface Sample {
    double at(int frame, int channel);
  }

  /** A 16 kHz 16-bit PCM WAV of {@code channels} channels, frame f of channel c being {@code sample.at(f, c)}. */
  static byte[] pcm16(int channels, int frames, Sample sample) {
    int data = frames * channels * 2;
    ByteBuffer b = ByteBuffer.allocate(44 + data).order(ByteOrder.LITTLE_ENDIAN);
    b.put("RIFF".getBytes()).putInt(36 + data).put("WAVEfmt ".getBytes()).putInt(16).putShort((short) 1)
        .putShort((short) channels).putInt(16000).putInt(16000 * channels * 2).putShort((short) (channels * 2))
        .putShort((short) 16).put("data".getBytes()).putInt(data);
    for (int f = 0; f < frames; f++) {
      for (int c = 0; c < channels; c++) b.putShort((short) Math.round(sample.at(f, c)));
    }
    return b.array();
  }

  /** The review: quiet tracks of a multitrack recorder, weighted 1/32, fell under the silence check and channel 0 alone was kept. */
  @Test
  void quietTracksOfManyAreAllKept() throws Exception {
    // a talker on track 0 in the first second, another on track 5 in the second, about -30 dBFS
    byte[] wav = pcm16(32, 32_000, (f, c) -> c == 0 && f < 16_000 || c == 5 && f >= 16_000
        ? 1000 * Math.sin(2 * Math.PI * (c == 0 ? 440 : 660) * f / 16000.0) : 0);
    DecodedAudio a = AudioDecoder.read(Files.write(dir.resolve("tracks.wav"), wav));
    // mixed at 1/sqrt(32), the talkers peak at -45 dBFS and are raised; no track was dropped
    assertTrue(a.warnings().stream().allMatch(w -> w.startsWith("the recording is very quiet")), a.warnings().toString());
    assertEquals(660, frequency(Arrays.copyOfRange(a.samples(), 16_000, 32_000)), 10, "track 5 is heard");
  }

  /**
   * The review: a float file in integer units that is mostly digital silence (a padded export, a
   * short clip) has silent seconds for its median, and was taken for a normal-level file.
   */
  @Test
  void integerUnitsAreFoundPastDigitalSilence() {
    float[] x = new float[10 * 16_000];
    for (int i = 6 * 16_000; i < x.length; i++) x[i] = (float) (8000 * Math.sin(i * 0.17));
    AudioDecoder.Sanitized s = AudioDecoder.sanitize(x);
    assertEquals(0, s.damaged());
    assertEquals(8000, s.scaled(), 8);
    assertEquals(Math.sin(8 * 16_000 * 0.17), x[8 * 16_000], 1e-3, "scaled, not clipped");
    float[] clip = new float[17_600]; // 1.1 s, the last 0.1 s silent
    for (int i = 0; i < 16_000; i++) clip[i] = (float) (8000 * Math.sin(i * 0.17));
    assertEquals(0, AudioDecoder.sanitize(clip).damaged());
    assertEquals(Math.sin(100 * 0.17), clip[100], 1e-3);
  }

  @Test
  void samplesNoMicrophoneMakesAreSilencedOrClipped() {
    float[] x = new float[10_000];
    Arrays.fill(x, 0.25f);
    float[] odd = {0.5f, Float.NaN, Float.POSITIVE_INFINITY, 1e30f, -1e30f, -32768f};
    System.arraycopy(odd, 0, x, 0, odd.length);
    assertEquals(new AudioDecoder.Sanitized(1f, 5), AudioDecoder.sanitize(x), "a file at a normal level keeps it");
    assertEquals(List.of(0.5f, 0f, 0f, 0f, 0f, 0f, 0.25f), List.of(x[0], x[1], x[2], x[3], x[4], x[5], x[6]));
  }

  @Test
  void subSecondClipDecodes() throws Exception {
    Path f = dir.resolve("short.wav");
    Process p = new ProcessBuilder(AudioDecoder.ffmpegPath(), "-nostdin", "-v", "error", "-y", "-f", "lavfi",
        "-i", "sine=frequency=440:sample_rate=48000:duration=0.3", f.toString()).redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0.3, AudioDecoder.decode(f).length / 16000.0, 0.02);
  }

  /**
   * QA: 24-bit samples in 32-bit containers (WAVE_FORMAT_EXTENSIBLE, valid bits 24, as recorders
   * write them) were read by the bundled ffmpeg as 24-bit floats: noise at 10^31 times full scale,
   * scaled down to a whisper, and a wrong diarization with exit 0.
   */
  @Test
  void twentyFourBitSamplesInThirtyTwoBitContainersDecode() throws Exception {
    int n = 32_000;
    ByteBuffer b = ByteBuffer.allocate(68 + 4 * n).order(ByteOrder.LITTLE_ENDIAN);
    b.put("RIFF".getBytes()).putInt(60 + 4 * n).put("WAVEfmt ".getBytes()).putInt(40);
    b.putShort((short) 0xFFFE).putShort((short) 1).putInt(16_000).putInt(64_000).putShort((short) 4).putShort((short) 32);
    b.putShort((short) 22).putShort((short) 24).putInt(4); // cbSize, valid bits, channel mask
    b.put(new byte[] {1, 0, 0, 0, 0, 0, 0x10, 0, (byte) 0x80, 0, 0, (byte) 0xAA, 0, 0x38, (byte) 0x9B, 0x71}); // PCM
    b.put("data".getBytes()).putInt(4 * n);
    for (int i = 0; i < n; i++) b.putInt((int) (0.5 * Math.sin(2 * Math.PI * 440 * i / 16_000) * (1 << 23)) << 8);
    Path f = Files.write(dir.resolve("ext24in32.wav"), b.array());
    // the review: the same samples as RF64 (a recorder's file over 4 GiB; its sizes in a ds64 chunk)
    ByteBuffer rf = ByteBuffer.allocate(68 + 36 + 4 * n).order(ByteOrder.LITTLE_ENDIAN);
    rf.put("RF64".getBytes()).putInt(-1).put("WAVE".getBytes());
    rf.put("ds64".getBytes()).putInt(28).putLong(96 + 4L * n).putLong(4L * n).putLong(n).putInt(0);
    rf.put(b.array(), 12, 68 - 12 + 4 * n).putInt(68 + 36 - 4, -1); // fmt and data as in the RIFF file, data size unknown
    Path rf64 = Files.write(dir.resolve("ext24in32-rf64.wav"), rf.array());
    for (Path file : List.of(f, rf64)) {
      DecodedAudio a = AudioDecoder.read(file);
      assertEquals(List.of(), a.warnings(), file.toString());
      assertEquals(440, frequency(a.samples()), 10, file.toString());
      assertEquals(0.5 / Math.sqrt(2), rms(a.samples()), 0.01, file + ": the level as written");
    }
  }

  /**
   * QA: a video whose sound starts after the picture (here 1 s) had its turns placed from the
   * sound's first sample, a second earlier than a player shows them.
   */
  @Test
  void soundThatStartsLateInItsContainerKeepsItsTime() throws Exception {
    Path tone = make("late-tone.wav", 16000, 1, "-c:a", "pcm_s16le");
    Path f = dir.resolve("late.mkv");
    Process p = new ProcessBuilder(AudioDecoder.ffmpegPath(), "-nostdin", "-v", "error", "-y",
        "-f", "lavfi", "-i", "color=c=black:s=32x32:r=5:d=3", "-itsoffset", "1", "-i", tone.toString(),
        "-map", "0:v", "-map", "1:a", "-c:v", "mpeg4", "-c:a", "flac", f.toString()).redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), log);
    float[] x = AudioDecoder.decode(f);
    int first = 0;
    while (first < x.length && Math.abs(x[first]) < 0.01) first++;
    assertEquals(1.0, first / 16_000.0, 0.02, "the sound starts where the player plays it");
    assertEquals(3.0, x.length / 16_000.0, 0.05);
  }

  /** QA: a JVM stopped mid-decode left ffmpeg writing the decoded recording into the temp directory. */
  @Test
  void decodesUnderWayAreStoppedAndTheirFilesRemovedWhenTheJvmExits(@TempDir Path tmp) throws Exception {
    Path tmpDir = Path.of(System.getProperty("java.io.tmpdir"));
    Path long10 = make("long.flac", 16000, 1, 1800, "-c:a", "flac"); // 30 minutes: a decode of several seconds
    // what other processes left there (a node killed mid-decode within the hour) is not this decode's
    java.util.Set<Path> before;
    try (var files = Files.list(tmpDir)) {
      before = files.collect(java.util.stream.Collectors.toSet());
    }
    java.util.concurrent.CompletableFuture<float[]> decode = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return AudioDecoder.decode(long10);
      } catch (AudioDecodeException e) {
        throw new java.util.concurrent.CompletionException(e);
      }
    });
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    List<Path> ours = List.of();
    while (ours.isEmpty() && System.nanoTime() < deadline && !decode.isDone()) {
      try (var files = Files.list(tmpDir)) {
        ours = files.filter(f -> f.getFileName().toString().startsWith("parley-decode") && !before.contains(f)).toList();
      }
      Thread.sleep(5);
    }
    assertTrue(!ours.isEmpty(), "the decode's temp file never showed");
    List<ProcessHandle> ffmpeg = ProcessHandle.current().children()
        .filter(h -> h.info().command().map(c -> c.contains("ffmpeg")).orElse(false)).toList();
    try {
      AudioDecoder.abandonDecodes(); // what the shutdown hook does
      // killed, not left to finish: a 30-minute decode has seconds to go
      for (ProcessHandle h : ffmpeg) assertTrue(h.onExit().get(1, TimeUnit.SECONDS) != null && !h.isAlive());
      java.util.concurrent.ExecutionException failed =
          assertThrows(java.util.concurrent.ExecutionException.class, () -> decode.get(30, TimeUnit.SECONDS));
      assertTrue(failed.getCause() instanceof AudioDecodeException, failed.toString());
      for (Path f : ours) assertTrue(Files.notExists(f), f + " is left behind");
      // and none starts after it (the review: a job's next decode during the exit left ffmpeg running)
      AudioDecodeException refused = assertThrows(AudioDecodeException.class, () -> AudioDecoder.decode(long10));
      assertTrue(refused.getMessage().contains("shutting down"), refused.getMessage());
    } finally {
      AudioDecoder.reopenForTests();
    }
  }

  /** Temp files of a decode killed midway are reclaimed once an hour old; fresh ones and other files stay. */
  @Test
  void abandonedDecoderTempFilesAreRemoved(@TempDir Path tmp) throws IOException {
    FileTime old = FileTime.from(
        Instant.now().minus(Duration.ofHours(2)));
    Path raw = Files.setLastModifiedTime(Files.write(tmp.resolve("parley-decode123.f32"), new byte[64]), old);
    Path log = Files.setLastModifiedTime(Files.write(tmp.resolve("parley-ffmpeg456.log"), new byte[8]), old);
    Path fresh = Files.write(tmp.resolve("parley-decode789.f32"), new byte[64]);
    Path other = Files.setLastModifiedTime(Files.write(tmp.resolve("someone-else.f32"), new byte[8]), old);
    assertEquals(2, AudioDecoder.removeAbandonedTempFiles(tmp, Duration.ofHours(1)));
    assertTrue(Files.notExists(raw) && Files.notExists(log));
    assertTrue(Files.exists(fresh) && Files.exists(other));
  }
}
