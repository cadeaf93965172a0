package dev.parley.gpu.cli;

import com.typesafe.config.Config;
import dev.parley.gpu.eval.DerResult;
import dev.parley.gpu.eval.DerScorer;
import dev.parley.gpu.eval.Rttm;
import dev.parley.gpu.eval.Turn;
import dev.parley.gpu.eval.Uem;
import dev.parley.gpu.pipeline.DiarizationException;
import dev.parley.gpu.pipeline.DiarizationPipeline;
import dev.parley.gpu.pipeline.PipelineParams;
import dev.parley.gpu.pipeline.PipelineSettings;
import dev.parley.gpu.pipeline.audio.AudioDecoder;
import dev.parley.protocol.DiarizationOptions;
import dev.parley.protocol.DiarizationResult;
import dev.parley.protocol.Segment;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The {@code diarize}, {@code eval} and {@code bench} commands. They run exactly the pipeline the
 * gpu worker runs ({@link DiarizationPipeline}), built from the same {@code parley.pipeline.*}
 * configuration ({@code PARLEY_VAD_MODEL}, {@code PARLEY_EMBEDDING_MODEL}, {@code PARLEY_DEVICE},
 * {@code PARLEY_PIPELINE_THREADS}) unless options override them. Exit
 * codes: 0 success, 1 a run failed (unreadable audio, model cannot load), 2 usage error.
 */
public final class Cli {
  public static final Set<String> COMMANDS = Set.of("diarize", "eval", "bench");
  static final Set<String> AUDIO_EXTENSIONS =
      Set.of("wav", "flac", "mp3", "m4a", "aac", "ogg", "oga", "opus", "webm", "mp4", "mkv", "mov", "3gp", "wma", "aiff",
          "aif", "aifc", "caf", "w64", "amr", "mka", "ac3", "mp2");

  /** The commands, indented, one paragraph each (the node's usage text lists them too). */
  public static final String COMMANDS_HELP = String.join("\n",
      "  diarize [--num-speakers N] [--min-speakers N] [--max-speakers N] [--rttm OUT] FILE...",
      "      writes RTTM (to stdout without --rttm); the file id is the base name without extension, whitespace as _",
      "  eval --ref REF.rttm [--uem UEM] [--collar S] [--oracle-count] [--rttm OUT] DIR_OR_FILES...",
      "      diarizes and prints per-file and total DER (missed, false alarm, confusion; overlap scored,",
      "      collar in seconds on each side of reference boundaries, 0 by default) beside the one-speaker",
      "      baseline (the reference's speech given to one speaker); --oracle-count gives each file the",
      "      number of speakers in its reference, to separate counting errors from the rest",
      "  bench FILE",
      "      prints audio seconds, wall seconds, real-time factor, seconds per hour of audio, peak memory",
      "");

  /** The options the three commands share, under a heading. */
  public static final String OPTIONS_HELP = String.join("\n",
      "options of diarize, eval and bench:",
      "  --vad-model VAD         parley (Parley's own, the default), energy, a train-vad output directory, or a",
      "                          Silero VAD TorchScript file (default: $PARLEY_VAD_MODEL, else parley)",
      "  --embedding-model PATH  a train-embedding output directory or a TorchScript speaker model; several",
      "                          (and `default`) separated by commas run as one ensemble",
      "                          (default: $PARLEY_EMBEDDING_MODEL, else Parley's own)",
      "  --device auto|cpu|gpu   where to run (default: $PARLEY_DEVICE, else auto)",
      "  --threads N             worker threads per recording (default: $PARLEY_PIPELINE_THREADS, else one per core)",
      "  --param SECTION.NAME=V  override a pipeline parameter, e.g. clustering.threshold=0.6 (repeatable)",
      "");

  static final String USAGE = "usage:\n" + COMMANDS_HELP + OPTIONS_HELP;

  private Cli() {}

  /** A usage error: reported with the usage text and exit code 2. */
  static class UsageException extends Exception {
    UsageException(String message) {
      super(message);
    }
  }

  /** {@code --help}: the usage text and exit code 0. */
  static final class HelpRequested extends UsageException {
    HelpRequested() {
      super("help");
    }
  }

  /**
   * Runs one command with the pipeline settings of {@code parley} ({@code parley.pipeline.*}, see
   * {@link PipelineSettings#fromConfig}) unless options override them. Never calls
   * {@code System.exit}; returns the exit code.
   */
  public static int run(String command, String[] args, Config parley, PrintStream out, PrintStream err) {
    return run(command, args, parley, out, err, o -> DiarizationPipeline.create(o.settings(), o.params()));
  }

  /** Builds the pipeline for parsed options (tests pass a stand-in). */
  @FunctionalInterface
  interface PipelineFactory {
    DiarizationPipeline create(Options o);
  }

  static int run(String command, String[] args, Config parley, PrintStream out, PrintStream err,
      PipelineFactory factory) {
    try {
      Options o = Options.parse(command, args, PipelineSettings.fromConfig(parley));
      return switch (command) {
        case "diarize" -> diarize(o, out, err, factory);
        case "eval" -> eval(o, out, err, factory);
        case "bench" -> bench(o, out, err, factory);
        default -> throw new UsageException("unknown command: " + command);
      };
    } catch (HelpRequested e) {
      err.print(USAGE);
      return 0;
    } catch (UsageException e) {
      err.println("error: " + e.getMessage());
      err.print(USAGE);
      return 2;
    } catch (IllegalArgumentException | IllegalStateException | IOException e) {
      err.println("error: " + e.getMessage());
      return 1;
    } catch (OutOfMemoryError e) {
      err.println("error: " + outOfMemory(e));
      return 1;
    } catch (RuntimeException e) {
      // a defect (a model that fails to load in the engine, say): one line, as for a file
      err.println("error: internal error: " + e);
      return 1;
    }
  }

  private static String outOfMemory(OutOfMemoryError e) {
    return "out of memory (" + e.getMessage() + "): the recording's samples alone take " + AudioDecoder.MB_PER_AUDIO_HOUR
        + " MB an hour; give the JVM more heap, for example java -Xmx2g -jar parley.jar ... (now at most "
        + Runtime.getRuntime().maxMemory() / (1024 * 1024) + " MB)";
  }

  /**
   * {@code name} as a path, or a refusal that says why when the JVM cannot represent it: Java takes
   * file names in the locale's encoding, and under {@code LANG=C} that is ASCII.
   */
  static Path path(String name) {
    try {
      return Path.of(name);
    } catch (InvalidPathException e) {
      throw new IllegalArgumentException("cannot use the file name " + name + ": " + e.getReason() + " in this JVM's file-name"
          + " encoding (" + System.getProperty("sun.jnu.encoding") + ", from the locale); run under a UTF-8 locale,"
          + " for example LANG=C.UTF-8", e);
    }
  }

  /** Why {@code p}, which is no regular file, cannot be read as a recording. */
  static String notAFile(Path p) {
    if (Files.isDirectory(p)) return "a directory, not an audio file: " + p;
    if (Files.exists(p)) return "not a regular file (a pipe or a device): " + p + "; save the recording to a file first";
    return "no such file: " + p;
  }

  /** One input of a batch: its failure, running out of memory or a defect included, is its own and not the batch's. */
  private static DiarizationResult diarizeOne(DiarizationPipeline p, Path file, DiarizationOptions options)
      throws DiarizationException {
    try {
      return p.diarize(file, options, null);
    } catch (OutOfMemoryError e) {
      throw new DiarizationException(outOfMemory(e), true, e);
    } catch (RuntimeException e) {
      // a defect, not the input's fault: said for this file, and the batch goes on
      throw new DiarizationException("internal error: " + e, true, e);
    }
  }

  /** Parsed command-line options. */
  record Options(
      DiarizationOptions speakers, Path rttm, Path ref, Path uem, double collar, boolean oracleCount,
      PipelineSettings settings, PipelineParams params, List<String> inputs) {

    /** @param configured the settings from configuration, which the options override */
    static Options parse(String command, String[] args, PipelineSettings configured) throws UsageException {
      if (command == null || !COMMANDS.contains(command)) throw new UsageException("unknown command: " + command);
      Integer num = null, min = null, max = null;
      Path rttm = null, ref = null, uem = null;
      double collar = 0;
      boolean oracleCount = false;
      String vad = configured.vadModel(), emb = configured.embeddingModel(), device = configured.device();
      int threads = configured.threads();
      PipelineParams params = PipelineParams.defaults();
      List<String> inputs = new ArrayList<>();
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        switch (a) {
          case "--num-speakers" -> num = speakers(a, value(args, ++i, a));
          case "--min-speakers" -> min = speakers(a, value(args, ++i, a));
          case "--max-speakers" -> max = speakers(a, value(args, ++i, a));
          case "--rttm" -> rttm = path(value(args, ++i, a));
          case "--ref" -> ref = path(value(args, ++i, a));
          case "--uem" -> uem = path(value(args, ++i, a));
          case "--collar" -> {
            String v = value(args, ++i, a);
            try {
              collar = Double.parseDouble(v);
            } catch (NumberFormatException e) {
              throw new UsageException("--collar needs a number of seconds, got " + v);
            }
            if (!(collar >= 0) || !Double.isFinite(collar)) throw new UsageException("--collar must be a finite number >= 0, got " + v);
          }
          case "--oracle-count" -> oracleCount = true;
          case "--vad-model" -> vad = value(args, ++i, a);
          case "--embedding-model" -> emb = value(args, ++i, a);
          case "--device" -> device = value(args, ++i, a);
          case "--threads" -> threads = positive(a, value(args, ++i, a));
          case "--param" -> {
            String v = value(args, ++i, a);
            try {
              params = params.with(v);
            } catch (IllegalArgumentException e) {
              throw new UsageException(e.getMessage());
            }
          }
          case "-h", "--help" -> throw new HelpRequested();
          default -> {
            if (a.startsWith("--")) throw new UsageException("unknown option " + a + " for " + command);
            path(a); // a name this JVM cannot even represent is refused here, before any work
            inputs.add(a);
          }
        }
      }
      if (min != null && max != null && min > max) throw new UsageException("--min-speakers must not exceed --max-speakers");
      DiarizationOptions speakers = new DiarizationOptions(num, min, max);
      if (speakers.countOutsideBounds()) {
        throw new UsageException("--num-speakers must lie between --min-speakers and --max-speakers when they are given");
      }
      PipelineSettings settings;
      try {
        settings = new PipelineSettings(vad, emb, device, threads);
      } catch (IllegalArgumentException e) {
        throw new UsageException(e.getMessage());
      }
      if (command.equals("bench") && inputs.size() != 1) throw new UsageException("bench takes exactly one FILE");
      if (command.equals("bench") && rttm != null) throw new UsageException("--rttm belongs to diarize and eval");
      if (inputs.isEmpty()) throw new UsageException(command + " needs at least one " + (command.equals("eval") ? "directory or file" : "FILE"));
      if (command.equals("eval") && ref == null) throw new UsageException("eval needs --ref REF.rttm");
      if (!command.equals("eval") && (ref != null || uem != null || oracleCount)) {
        throw new UsageException("--ref, --uem and --oracle-count belong to eval");
      }
      if (oracleCount && (num != null || min != null || max != null)) {
        throw new UsageException("--oracle-count takes each file's count from --ref: no --num-speakers, --min-speakers or --max-speakers with it");
      }
      if (rttm != null) {
        Path out = rttm;
        boolean clobbers = AUDIO_EXTENSIONS.contains(extension(rttm)) || AUDIO_EXTENSIONS.contains(extension(realPath(rttm)))
            || Stream.concat(inputs.stream().map(Path::of), Stream.of(ref, uem).filter(Objects::nonNull))
                .anyMatch(in -> sameFile(in, out));
        if (clobbers) throw new UsageException("--rttm " + rttm + " names an input or an audio file; it would be overwritten");
      }
      return new Options(speakers, rttm, ref, uem, collar, oracleCount, settings, params, inputs);
    }

    /**
     * Whether {@code a} and {@code b} are one file: by path, or, when both exist, through symbolic
     * and hard links as well (an {@code --rttm} linked to an input would overwrite it).
     */
    static boolean sameFile(Path a, Path b) {
      if (a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize())) return true;
      try {
        return Files.exists(a) && Files.exists(b) && Files.isSameFile(a, b);
      } catch (IOException e) {
        return false;
      }
    }

    /** {@code p} with its links followed when it exists (a link's own name may not say it is audio). */
    private static Path realPath(Path p) {
      try {
        return Files.exists(p) ? p.toRealPath() : p;
      } catch (IOException e) {
        return p;
      }
    }

    private static String value(String[] args, int i, String opt) throws UsageException {
      if (i >= args.length) throw new UsageException(opt + " needs a value");
      return args[i];
    }

    /** A speaker count: 1 to {@link DiarizationOptions#MAX_SPEAKERS}, as the API takes. */
    private static int speakers(String opt, String v) throws UsageException {
      int n = positive(opt, v);
      if (n > DiarizationOptions.MAX_SPEAKERS) {
        throw new UsageException(opt + " must be between 1 and " + DiarizationOptions.MAX_SPEAKERS + ", got " + v);
      }
      return n;
    }

    private static int positive(String opt, String v) throws UsageException {
      try {
        int n = Integer.parseInt(v);
        if (n < 1) throw new UsageException(opt + " must be at least 1, got " + v);
        return n;
      } catch (NumberFormatException e) {
        throw new UsageException(opt + " needs a whole number, got " + v);
      }
    }
  }

  /**
   * File id as RTTM uses it: the base name without its extension, whitespace replaced by
   * {@code _} (RTTM fields are separated by whitespace).
   */
  public static String fileId(Path file) {
    String name = file.getFileName().toString();
    int dot = name.lastIndexOf('.');
    // every kind of space (U+00A0, U+2003, ...) and control character: RTTM fields are separated by white space
    return (dot > 0 ? name.substring(0, dot) : name).replaceAll("[\\s\\p{Z}\\p{Cc}]+", "_");
  }

  /** Two inputs with one file id would be indistinguishable in the RTTM: refused before any work. */
  static void checkDistinctIds(List<Path> files) throws UsageException {
    Map<String, Path> seen = new HashMap<>();
    for (Path f : files) {
      Path other = seen.putIfAbsent(fileId(f), f);
      if (other != null && Options.sameFile(other, f)) throw new UsageException("input " + f + " is given twice");
      if (other != null) {
        throw new UsageException("inputs " + other + " and " + f + " share the file id " + fileId(f)
            + "; rename one");
      }
    }
  }

  /** Writes the RTTM file; its failure says why (a file system's exception alone names only the path). */
  private static void writeRttm(Path rttm, CharSequence text) throws IOException {
    try {
      Files.writeString(rttm, text, StandardCharsets.UTF_8);
    } catch (IOException e) {
      String why = e instanceof AccessDeniedException ? "permission denied"
          : e instanceof FileSystemException f && f.getReason() != null ? f.getReason()
          : e.toString();
      throw new IOException("cannot write the RTTM to " + rttm + ": " + why, e);
    }
  }

  /** Fails before any diarization (a usage error) when {@code rttm} could not be written afterwards. */
  static void checkWritable(Path rttm) throws UsageException {
    if (rttm == null) return;
    Path dir = rttm.toAbsolutePath().getParent();
    if (!Files.isDirectory(dir)) throw new UsageException("--rttm " + rttm + ": no directory " + dir);
    if (Files.isDirectory(rttm)) throw new UsageException("--rttm " + rttm + " is a directory");
    if (Files.exists(rttm) ? !Files.isWritable(rttm) : !Files.isWritable(dir)) {
      throw new UsageException("--rttm " + rttm + " cannot be written");
    }
  }

  private static int diarize(Options o, PrintStream out, PrintStream err, PipelineFactory factory)
      throws IOException, UsageException {
    for (String in : o.inputs()) {
      if (!Files.isRegularFile(Path.of(in))) {
        err.println("error: " + notAFile(Path.of(in)));
        return 1;
      }
    }
    checkDistinctIds(o.inputs().stream().map(Path::of).toList());
    checkWritable(o.rttm());
    int failures = 0;
    StringBuilder rttm = new StringBuilder();
    try (DiarizationPipeline p = factory.create(o)) {
      for (String in : o.inputs()) {
        Path file = Path.of(in);
        try {
          DiarizationResult r = diarizeOne(p, file, o.speakers());
          String text = r.toRttm(fileId(file));
          if (o.rttm() == null) out.print(text);
          else rttm.append(text);
          err.printf(Locale.ROOT, "%s: %.1f s of audio, %d speaker%s, %d segments, %.1f s (RTF %.4f, %s)%n",
              file, r.timing().audioSeconds(), r.speakers().size(), r.speakers().size() == 1 ? "" : "s", r.segments().size(),
              r.timing().processingSeconds(), r.timing().realTimeFactor(), r.timing().device());
          for (String w : r.warnings()) err.println("warning: " + file + ": " + w);
        } catch (DiarizationException e) {
          err.println("error: " + file + ": " + e.getMessage());
          failures++;
        }
      }
    }
    if (o.rttm() != null) writeRttm(o.rttm(), rttm);
    return failures == 0 ? 0 : 1;
  }

  private static int eval(Options o, PrintStream out, PrintStream err, PipelineFactory factory)
      throws IOException, UsageException {
    Map<String, List<Turn>> ref = Rttm.read(o.ref());
    Map<String, List<Uem.Region>> uem = o.uem() != null ? Uem.read(o.uem()) : Map.of();
    List<Path> files = new ArrayList<>();
    for (String in : o.inputs()) {
      Path p = Path.of(in);
      if (Files.isDirectory(p)) {
        try (Stream<Path> s = Files.list(p)) {
          s.filter(Files::isRegularFile).filter(f -> AUDIO_EXTENSIONS.contains(extension(f))).sorted().forEach(files::add);
        }
      } else if (Files.isRegularFile(p)) {
        files.add(p);
      } else {
        err.println("error: " + notAFile(p));
        return 1;
      }
    }
    files.removeIf(f -> {
      boolean missing = !ref.containsKey(fileId(f));
      if (missing) err.println("skipping " + f + ": no turns for " + fileId(f) + " in " + o.ref());
      return missing;
    });
    files.removeIf(f -> {
      // as md-eval does: with a UEM, only the files it names are scored
      boolean unscored = o.uem() != null && !uem.containsKey(fileId(f));
      if (unscored) err.println("skipping " + f + ": " + o.uem() + " has no region for " + fileId(f));
      return unscored;
    });
    if (files.isEmpty()) {
      err.println("error: no audio file with a reference to score");
      return 1;
    }
    // the reference's files without an input are not scored (md-eval would count them as missed): say so
    Set<String> unheard = new TreeSet<>(o.uem() != null ? uem.keySet() : ref.keySet());
    unheard.retainAll(ref.keySet());
    files.forEach(f -> unheard.remove(fileId(f)));
    if (!unheard.isEmpty()) {
      err.println("note: " + unheard.size() + " file(s) of " + o.ref() + " have no input and are not in the total: "
          + String.join(", ", unheard));
    }
    checkDistinctIds(files);
    checkWritable(o.rttm());
    DerResult total = DerResult.ZERO;
    DerResult baseline = DerResult.ZERO;
    double audio = 0, processing = 0;
    StringBuilder hypRttm = new StringBuilder();
    out.printf(Locale.ROOT, "collar %.3f s, overlap scored%s%n", o.collar(),
        o.oracleCount() ? ", each file given its reference's speaker count" : "");
    out.printf(Locale.ROOT, "%-12s %7s %7s %7s %7s %5s %5s | %12s%n",
        "file", "DER%", "miss%", "FA%", "conf%", "spk", "ref", "1-spk DER%");
    int failures = 0;
    try (DiarizationPipeline p = factory.create(o)) {
      for (Path f : files) {
        String id = fileId(f);
        List<Turn> rf = ref.get(id);
        // a speaker whose every turn lasts 0 s says nothing (md-eval ignores such turns too)
        long refSpk = rf.stream().filter(t -> t.end() > t.start()).map(Turn::speaker).distinct().count();
        DiarizationResult r;
        try {
          r = diarizeOne(p, f, o.oracleCount() ? new DiarizationOptions((int) refSpk, null, null) : o.speakers());
        } catch (DiarizationException e) {
          err.println("error: " + f + ": " + e.getMessage());
          failures++;
          continue;
        }
        for (String w : r.warnings()) err.println("warning: " + f + ": " + w);
        audio += r.timing().audioSeconds();
        processing += r.timing().processingSeconds();
        hypRttm.append(r.toRttm(id));
        List<Turn> hyp = new ArrayList<>();
        for (Segment s : r.segments()) hyp.add(new Turn(id, s.start(), s.end(), s.speaker()));
        List<Uem.Region> u = uem.get(id);
        DerResult d = DerScorer.score(rf, hyp, u, o.collar());
        DerResult b = DerScorer.score(rf, DerScorer.oneSpeakerBaseline(rf), u, o.collar());
        total = total.plus(d);
        baseline = baseline.plus(b);
        if (d.total() <= 0) err.println("note: no reference speech scored in " + f + " (check --uem and --collar)");
        out.printf(Locale.ROOT, "%-12s %7s %7s %7s %7s %5d %5d | %12s%n", id, pct(d, d.der()),
            pct(d, d.missedRate()), pct(d, d.falseAlarmRate()), pct(d, d.confusionRate()), r.speakers().size(), refSpk,
            pct(b, b.der()));
      }
      out.printf(Locale.ROOT, "%-12s %7s %7s %7s %7s %5s %5s | %12s%n", "TOTAL", pct(total, total.der()),
          pct(total, total.missedRate()), pct(total, total.falseAlarmRate()), pct(total, total.confusionRate()), "", "",
          pct(baseline, baseline.der()));
      if (failures > 0) out.printf(Locale.ROOT, "TOTAL leaves out the %d file(s) that failed%n", failures);
      out.printf(Locale.ROOT, "one-speaker baseline: DER %s (missed %s, confusion %s)%n", percent(baseline, baseline.der()),
          percent(baseline, baseline.missedRate()), percent(baseline, baseline.confusionRate()));
      Map<String, String> models = p.models();
      out.printf(Locale.ROOT, "models: %s%n", models);
      out.printf(Locale.ROOT, "audio %.1f s, processing %.1f s, RTF %.4f%n", audio, processing,
          audio > 0 ? processing / audio : 0);
    }
    if (o.rttm() != null) writeRttm(o.rttm(), hypRttm);
    return failures == 0 ? 0 : 1;
  }

  /** A rate as a percentage, or {@code n/a} when no reference speech was scored. */
  private static String pct(DerResult d, double rate) {
    return d.total() > 0 ? String.format(Locale.ROOT, "%.2f", 100 * rate) : "n/a";
  }

  /** As {@link #pct}, with its sign: "12.34%" or "n/a". */
  private static String percent(DerResult d, double rate) {
    return d.total() > 0 ? pct(d, rate) + "%" : "n/a";
  }

  private static int bench(Options o, PrintStream out, PrintStream err, PipelineFactory factory) {
    Path file = Path.of(o.inputs().get(0));
    if (!Files.isRegularFile(file)) {
      err.println("error: " + notAFile(file));
      return 1;
    }
    long l0 = System.nanoTime();
    try (DiarizationPipeline p = factory.create(o)) {
      double load = (System.nanoTime() - l0) / 1e9;
      long t0 = System.nanoTime();
      DiarizationResult r = diarizeOne(p, file, o.speakers());
      double wall = (System.nanoTime() - t0) / 1e9;
      double audio = r.timing().audioSeconds();
      out.printf(Locale.ROOT, "file              %s%n", file);
      out.printf(Locale.ROOT, "audio seconds     %.1f%n", audio);
      out.printf(Locale.ROOT, "wall seconds      %.2f (model loading %.2f s not included)%n", wall, load);
      out.printf(Locale.ROOT, "stages            %s%n", stages(r.timing().stageSeconds()));
      out.printf(Locale.ROOT, "real-time factor  %.4f%n", wall / audio);
      out.printf(Locale.ROOT, "s per audio hour  %.1f%n", wall / audio * 3600);
      out.printf(Locale.ROOT, "peak memory       %s%n", peakMemory());
      out.printf(Locale.ROOT, "speakers          %d, segments %d%n", r.speakers().size(), r.segments().size());
      out.printf(Locale.ROOT, "device            %s, cpus %d%n", r.timing().device(), Runtime.getRuntime().availableProcessors());
      out.printf(Locale.ROOT, "models            %s%n", r.models());
      for (String w : r.warnings()) err.println("warning: " + file + ": " + w);
      return 0;
    } catch (DiarizationException e) {
      err.println("error: " + file + ": " + e.getMessage());
      return 1;
    }
  }

  /** "decode 0.12 s, vad 1.30 s, ..." */
  static String stages(Map<String, Double> seconds) {
    StringBuilder sb = new StringBuilder();
    seconds.forEach((stage, t) -> sb.append(sb.length() == 0 ? "" : ", ")
        .append(String.format(Locale.ROOT, "%s %.2f s", stage, t)));
    return sb.toString();
  }

  /** Peak resident set size (VmHWM) of this process, from /proc/self/status. */
  static String peakMemory() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          long kb = Long.parseLong(line.replaceAll("[^0-9]", ""));
          return String.format(Locale.ROOT, "%.0f MB (VmHWM, resident set incl. JVM and native)", kb / 1024.0);
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux
    }
    Runtime rt = Runtime.getRuntime();
    return String.format(Locale.ROOT, "%.0f MB (JVM heap in use; VmHWM unavailable)", (rt.totalMemory() - rt.freeMemory()) / 1048576.0);
  }

  static String extension(Path f) {
    String n = f.getFileName().toString();
    int dot = n.lastIndexOf('.');
    return dot < 0 ? "" : n.substring(dot + 1).toLowerCase(Locale.ROOT);
  }
}
