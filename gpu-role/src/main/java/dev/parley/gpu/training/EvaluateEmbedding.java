package dev.parley.gpu.training;

import static dev.parley.gpu.pipeline.audio.AudioDecoder.SAMPLE_RATE;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.parley.gpu.embedding.EmbeddingModels;
import dev.parley.gpu.embedding.SpeakerEmbeddingModel;
import dev.parley.gpu.embedding.TdnnSpeakerModel;
import dev.parley.gpu.eval.Rttm;
import dev.parley.gpu.eval.Turn;
import dev.parley.gpu.pipeline.audio.AudioDecodeException;
import dev.parley.gpu.pipeline.audio.AudioDecoder;
import dev.parley.gpu.pipeline.features.Fbank;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Equal error rate of a speaker model on speakers it never saw:
 *
 * <ul>
 *   <li><b>LibriSpeech held-out</b>: the 40 speakers listed in {@code
 *       models/parley-embed/heldout-librispeech.txt}. Each utterance is split into halves; each half
 *       gives up to three 3 s crops (start, middle, end). Target trials pair crops of different
 *       halves of one speaker; non-target trials pair crops of different speakers.
 *   <li><b>AMI far-field</b>: single-speaker regions of at least 1 s from ami-dev trn05..trn09
 *       (speakers absent from training), cut into 1.5 s pieces (a region under 1.5 s stays whole).
 *       Pieces of the same region are never paired. Reported over all pairs and over pairs within
 *       one recording (what diarization faces). Few trials: a coarse figure.
 * </ul>
 *
 * <p>Command: {@code evaluate-embedding [--data DIR] [--ami DIR] [--embedding-model
 * SPEC]} (SPEC as for {@code eval}; default: the committed model).
 */
public final class EvaluateEmbedding {
  public static final String HELD_OUT_RESOURCE =
      TdnnSpeakerModel.RESOURCE_DIR + "heldout-librispeech.txt";
  public static final List<String> AMI_EVAL_FILES =
      List.of("trn05", "trn06", "trn07", "trn08", "trn09");
  static final double CROP_SECONDS = 3.0;
  static final double AMI_MIN_SECONDS = 1.0;
  static final double AMI_PIECE_SECONDS = 1.5;
  static final int BATCH = 32;

  /** A piece of audio with its speaker; {@code group} separates halves / recordings. */
  public record Segment(String speaker, String file, int group, float[] samples) {}

  /** Figures of one evaluation. */
  public record Result(
      double libriEer, int libriTargets, int libriNonTargets,
      double roomEer, int roomTargets, int roomNonTargets,
      double amiEer, double amiWithinFileEer, int amiSegments, int amiWithinTargets, int amiWithinNonTargets) {
    public void print(PrintStream out) {
      out.printf(Locale.ROOT, "eer.librispeech=%.4f%n", libriEer);
      out.printf(Locale.ROOT, "eer.librispeech.trials=%d targets, %d non-targets%n", libriTargets, libriNonTargets);
      out.printf(Locale.ROOT, "eer.librispeech.sharedRoom=%.4f%n", roomEer);
      out.printf(Locale.ROOT, "eer.librispeech.sharedRoom.trials=%d targets, %d non-targets%n", roomTargets, roomNonTargets);
      out.printf(Locale.ROOT, "eer.ami=%.4f%n", amiEer);
      out.printf(Locale.ROOT, "eer.ami.withinFile=%.4f%n", amiWithinFileEer);
      out.printf(Locale.ROOT, "eer.ami.segments=%d%n", amiSegments);
      out.printf(Locale.ROOT, "eer.ami.withinFile.trials=%d targets, %d non-targets%n", amiWithinTargets, amiWithinNonTargets);
    }
  }

  private EvaluateEmbedding() {}

  public static List<String> heldOutSpeakers() {
    try (InputStream in =
        EvaluateEmbedding.class.getClassLoader().getResourceAsStream(HELD_OUT_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + HELD_OUT_RESOURCE);
      }
      List<String> out = new ArrayList<>();
      for (String line :
          new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).lines().toList()) {
        line = line.trim();
        if (!line.isEmpty() && !line.startsWith("#")) {
          out.add(line);
        }
      }
      return out;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Maps LibriSpeech speaker id to its FLAC file in {@code dir}. */
  public static Map<String, Path> librispeechFiles(Path dir) throws IOException {
    Map<String, Path> out = new LinkedHashMap<>();
    try (Stream<Path> s = Files.list(dir)) {
      s.filter(p -> p.getFileName().toString().endsWith(".flac"))
          .sorted()
          .forEach(p -> out.put(p.getFileName().toString().split("-")[0], p));
    }
    if (out.isEmpty()) {
      throw new IOException("no .flac files in " + dir);
    }
    return out;
  }

  public static List<Segment> librispeechSegments(Path dir, List<String> speakers)
      throws IOException, AudioDecodeException {
    Map<String, Path> files = librispeechFiles(dir);
    int crop = (int) (CROP_SECONDS * SAMPLE_RATE);
    List<Segment> out = new ArrayList<>();
    for (String spk : speakers) {
      Path f = files.get(spk);
      if (f == null) {
        throw new IOException("no utterance for held-out speaker " + spk + " in " + dir);
      }
      float[] x = AudioDecoder.decode(f);
      int half = x.length / 2;
      for (int h = 0; h < 2; h++) {
        int base = h * half;
        if (half <= crop) {
          out.add(new Segment(spk, f.getFileName().toString(), h, Arrays.copyOfRange(x, base, base + half)));
          continue;
        }
        for (int start : new int[] {0, (half - crop) / 2, half - crop}) {
          out.add(new Segment(spk, f.getFileName().toString(), h,
              Arrays.copyOfRange(x, base + start, base + start + crop)));
        }
      }
    }
    return out;
  }

  /** Speakers per simulated meeting in {@link #inSharedRooms}. */
  static final int ROOM_SPEAKERS = 4;

  /**
   * The held-out segments as simulated meetings: consecutive groups of {@value #ROOM_SPEAKERS}
   * speakers (in the held-out list's order) each share one synthetic room, one random channel
   * colouring and one noise, drawn from a fixed seed. Only pairs within one room are scored
   * ({@link #ROOM}), so a model cannot tell speakers apart by their recording conditions: the
   * situation of diarization, where everyone is heard through the same room and microphone.
   */
  public static List<Segment> inSharedRooms(List<Segment> libri) {
    Map<String, Integer> room = new LinkedHashMap<>();
    for (Segment s : libri) room.putIfAbsent(s.speaker(), room.size() / ROOM_SPEAKERS);
    int rooms = (room.size() + ROOM_SPEAKERS - 1) / ROOM_SPEAKERS;
    Random rnd = new Random(20261130L);
    float[][] rir = new float[rooms][];
    long[] colour = new long[rooms];
    double[] snr = new double[rooms];
    for (int k = 0; k < rooms; k++) {
      rir[k] = Augment.syntheticRir(0.3 + 0.5 * rnd.nextDouble(), -5 + 10 * rnd.nextDouble(), rnd);
      colour[k] = rnd.nextLong();
      snr[k] = 15 + 10 * rnd.nextDouble();
    }
    List<Segment> out = new ArrayList<>();
    for (Segment s : libri) {
      int k = room.get(s.speaker());
      float[] x = Arrays.copyOf(Augment.reverberate(s.samples(), rir[k]), s.samples().length);
      Augment.randomEq(x, 3, 8, new Random(colour[k]));
      Augment.mix(x, Augment.noise(x.length, 0.9, new Random(colour[k] + s.samples().length)), snr[k]);
      out.add(new Segment(s.speaker(), "room" + k, s.group(), x));
    }
    return out;
  }

  public static List<Segment> amiSegments(Path amiDir, List<String> fileIds)
      throws IOException, AudioDecodeException {
    Map<String, List<Turn>> turns = Rttm.read(amiDir.resolve("ami-dev.rttm"));
    List<Segment> out = new ArrayList<>();
    int piece = (int) (AMI_PIECE_SECONDS * SAMPLE_RATE);
    int region = 0;
    for (String id : fileIds) {
      float[] x = AudioDecoder.decode(amiDir.resolve(id + ".wav"));
      for (SpeakerRegions.Region r : SpeakerRegions.singleSpeaker(turns, id, x.length, AMI_MIN_SECONDS)) {
        int len = r.to() - r.from();
        if (len < piece) {
          out.add(new Segment(r.speaker(), id, region, Arrays.copyOfRange(x, r.from(), r.to())));
        } else {
          for (int from = r.from(); from + piece <= r.to(); from += piece) {
            out.add(new Segment(r.speaker(), id, region, Arrays.copyOfRange(x, from, from + piece)));
          }
        }
        region++;
      }
    }
    return out;
  }

  /** L2-normalised embeddings of the segments, batched by equal length. */
  public static float[][] embed(
      Function<NDArray, NDArray> embedder, Fbank fbank, List<Segment> segments, NDManager m) {
    float[][] out = new float[segments.size()][];
    Map<Integer, List<Integer>> byLength = new LinkedHashMap<>();
    for (int i = 0; i < segments.size(); i++) {
      byLength.computeIfAbsent(segments.get(i).samples().length, k -> new ArrayList<>()).add(i);
    }
    for (List<Integer> idx : byLength.values()) {
      for (int b = 0; b < idx.size(); b += BATCH) {
        List<Integer> part = idx.subList(b, Math.min(idx.size(), b + BATCH));
        float[][] windows = new float[part.size()][];
        for (int k = 0; k < part.size(); k++) {
          windows[k] = segments.get(part.get(k)).samples();
        }
        try (NDManager s = m.newSubManager()) {
          NDArray e = embedder.apply(Fbank.cmn(fbank.computeBatch(windows, s)));
          float[] flat = e.toFloatArray();
          int dim = (int) e.getShape().get(1);
          for (int k = 0; k < part.size(); k++) {
            float[] v = Arrays.copyOfRange(flat, k * dim, (k + 1) * dim);
            double n = 0;
            for (float f : v) {
              n += f * f;
            }
            float inv = (float) (1 / Math.max(1e-9, Math.sqrt(n)));
            for (int j = 0; j < dim; j++) {
              v[j] *= inv;
            }
            out[part.get(k)] = v;
          }
        }
      }
    }
    return out;
  }

  /** Which pairs count and how: returns 1 for target, 0 for non-target, -1 to skip. */
  interface PairRule {
    int classify(Segment a, Segment b);
  }

  static final PairRule LIBRI =
      (a, b) -> a.speaker().equals(b.speaker()) ? (a.group() != b.group() ? 1 : -1) : 0;
  static final PairRule ROOM = (a, b) -> !a.file().equals(b.file()) ? -1 : LIBRI.classify(a, b);
  static final PairRule AMI_ALL =
      (a, b) -> a.group() == b.group() ? -1 : a.speaker().equals(b.speaker()) ? 1 : 0;
  static final PairRule AMI_WITHIN =
      (a, b) -> !a.file().equals(b.file()) ? -1 : AMI_ALL.classify(a, b);

  /** EER and trial counts: {eer, targets, nonTargets}. */
  static double[] eer(List<Segment> segs, float[][] emb, PairRule rule) {
    List<Double> tar = new ArrayList<>();
    List<Double> non = new ArrayList<>();
    for (int i = 0; i < segs.size(); i++) {
      for (int j = i + 1; j < segs.size(); j++) {
        int c = rule.classify(segs.get(i), segs.get(j));
        if (c < 0) {
          continue;
        }
        double s = 0;
        for (int k = 0; k < emb[i].length; k++) {
          s += emb[i][k] * emb[j][k];
        }
        (c == 1 ? tar : non).add(s);
      }
    }
    return new double[] {eer(tar, non), tar.size(), non.size()};
  }

  /** Equal error rate of target and non-target scores (higher = more likely same speaker). */
  public static double eer(List<Double> targets, List<Double> nonTargets) {
    if (targets.isEmpty() || nonTargets.isEmpty()) {
      return Double.NaN;
    }
    double[] t = targets.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    double[] n = nonTargets.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    double[] thresholds = new double[t.length + n.length + 1];
    System.arraycopy(t, 0, thresholds, 0, t.length);
    System.arraycopy(n, 0, thresholds, t.length, n.length);
    thresholds[thresholds.length - 1] = Double.POSITIVE_INFINITY;
    Arrays.sort(thresholds);
    // accept when score >= threshold: miss = targets below, false alarm = non-targets at/above
    double best = Double.MAX_VALUE;
    double eer = 1;
    int i = 0;
    int j = 0;
    for (double thr : thresholds) {
      while (i < t.length && t[i] < thr) {
        i++;
      }
      while (j < n.length && n[j] < thr) {
        j++;
      }
      double miss = (double) i / t.length;
      double fa = (double) (n.length - j) / n.length;
      if (Math.abs(miss - fa) < best) {
        best = Math.abs(miss - fa);
        eer = (miss + fa) / 2;
      }
    }
    return eer;
  }

  /** Full evaluation of one embedder on already decoded segments. */
  public static Result evaluate(
      Function<NDArray, NDArray> embedder, Fbank fbank, List<Segment> libri, List<Segment> ami) {
    try (NDManager m = NDManager.newBaseManager(fbank.device())) {
      double[] l = eer(libri, embed(embedder, fbank, libri, m), LIBRI);
      List<Segment> rooms = inSharedRooms(libri);
      double[] r = eer(rooms, embed(embedder, fbank, rooms, m), ROOM);
      double amiAll = Double.NaN;
      double[] within = {Double.NaN, 0, 0};
      if (!ami.isEmpty()) {
        float[][] e = embed(embedder, fbank, ami, m);
        amiAll = eer(ami, e, AMI_ALL)[0];
        within = eer(ami, e, AMI_WITHIN);
      }
      return new Result(l[0], (int) l[1], (int) l[2], r[0], (int) r[1], (int) r[2], amiAll, within[0], ami.size(),
          (int) within[1], (int) within[2]);
    }
  }

  static final String USAGE = "usage: evaluate-embedding [--data DIR] [--ami DIR] [--embedding-model DIR|FILE[,DIR|FILE...]]";

  public static int run(String[] args) {
    System.setProperty("ai.djl.offline", "true");
    Path data, ami;
    String model;
    try {
      Flags f = Flags.parse(args, Set.of("--data", "--ami", "--embedding-model"), Set.of());
      data = f.path("--data", Path.of("../shared/data/librispeech-speakers"));
      ami = f.path("--ami", Path.of("../shared/data/ami-dev"));
      model = f.string("--embedding-model", null);
    } catch (IllegalArgumentException e) {
      return Flags.refused("evaluate-embedding", e, USAGE);
    }
    if (!Files.isDirectory(data)) {
      System.err.println("evaluate-embedding: no LibriSpeech speakers at " + data.toAbsolutePath().normalize()
          + ": give their directory with --data DIR (the default is ../shared/data/librispeech-speakers)");
      return 1;
    }
    try (Fbank fbank = new Fbank((Device) null);
        SpeakerEmbeddingModel m = EmbeddingModels.load(model, null)) {
      List<Segment> libri = librispeechSegments(data, heldOutSpeakers());
      List<Segment> amiSegs = Files.isDirectory(ami) ? amiSegments(ami, AMI_EVAL_FILES) : List.of();
      System.out.println("model=" + m.id() + " version=" + m.version());
      evaluate(m::embed, fbank, libri, amiSegs).print(System.out);
      return 0;
    } catch (NoSuchFileException e) {
      System.err.println("evaluate-embedding: no such file: " + e.getMessage());
      return 1;
    } catch (IOException | AudioDecodeException | RuntimeException e) {
      System.err.println("evaluate-embedding: " + e.getMessage());
      return 1;
    }
  }
}
