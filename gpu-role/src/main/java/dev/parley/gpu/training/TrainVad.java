package dev.parley.gpu.training;

import static dev.parley.gpu.pipeline.audio.AudioDecoder.SAMPLE_RATE;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.initializer.XavierInitializer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import dev.parley.gpu.eval.Rttm;
import dev.parley.gpu.eval.Turn;
import dev.parley.gpu.pipeline.ModelWeights;
import dev.parley.gpu.pipeline.PipelineParams;
import dev.parley.gpu.pipeline.audio.AudioDecodeException;
import dev.parley.gpu.pipeline.audio.AudioDecoder;
import dev.parley.gpu.pipeline.features.Fbank;
import dev.parley.gpu.pipeline.vad.EnergyVad;
import dev.parley.gpu.pipeline.vad.SpeechMask;
import dev.parley.gpu.pipeline.vad.VadNet;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * {@code train-vad}: trains {@link VadNet}, Parley's own speech detector, on two kinds of 6 s
 * crops. Meeting crops come from ami-dev trn00..trn04 with the reference RTTM as labels (speech
 * where anyone speaks). Synthetic crops place LibriSpeech pieces (dry or in a synthetic room, their
 * labels from the energy VAD on the clean utterance) on silence or coloured noise, with noise
 * bursts as loud as speech that are labelled non-speech, band limits and random gain. trn05..trn09
 * are never used, so the VAD's figures on them stay honest. Writes {@code parley-vad.params} and
 * {@code model.properties} into {@code --out}.
 */
public final class TrainVad {

  record Options(Path data, Path ami, Path out, double minutes, int steps, int threads, int batch, double seconds,
      float peakLr, int warmupSteps, int channels, double amiShare, long seed, List<String> amiFiles, boolean overlap,
      double sharedRoom, double monologues, double bandLimit, double tones) {
    static Options defaults() {
      return new Options(Path.of("../shared/data/librispeech-speakers"), Path.of("../shared/data/ami-dev"),
          Path.of("/work/train/vad"), 30, 0, 2, 32, 6.0, 2e-3f, 200, 64, 0.35, 20261130L,
          List.of("trn00", "trn01", "trn02", "trn03", "trn04"), false, 0, 0, 0, 0);
    }

    /** {@code parley-vad} (speech) or {@code parley-osd} (overlapped speech). */
    String name() {
      return overlap ? "parley-osd" : "parley-vad";
    }

    /** The defaults, with what {@code args} overrides. */
    static Options parse(String[] args) {
      Flags f = Flags.parse(args, Set.of("--target", "--data", "--ami", "--out", "--minutes", "--steps", "--threads", "--channels",
          "--shared-room", "--monologues", "--band-limit", "--tones", "--seed"), Set.of());
      Options d = defaults();
      String target = f.string("--target", "speech");
      if (!target.equals("speech") && !target.equals("overlap"))
        throw new IllegalArgumentException("--target is speech or overlap, not " + target);
      return new Options(f.path("--data", d.data()), f.path("--ami", d.ami()), f.path("--out", d.out()),
          f.positive("--minutes", d.minutes()), f.has("--steps") ? f.positiveInt("--steps", 1) : d.steps(),
          f.positiveInt("--threads", d.threads()), d.batch(), d.seconds(), d.peakLr(), d.warmupSteps(),
          f.positiveInt("--channels", d.channels()), d.amiShare(), f.has("--seed") ? f.positiveInt("--seed", 1) : d.seed(), d.amiFiles(),
          target.equals("overlap"), f.probability("--shared-room", d.sharedRoom()), f.probability("--monologues", d.monologues()),
          f.probability("--band-limit", d.bandLimit()), f.probability("--tones", d.tones()));
    }

    String recipe() {
      return String.format(Locale.ROOT, (overlap
              ? "target: overlapped speech (2+ talkers; synthetic pieces overlap each other, levels within -8..+4 dB of one another); "
              : "target: speech; ")
          + "BCE on frame labels; Adam lr %.0e, warm-up %d steps, cosine to 2%% by %s; batch %d x %.0f s; "
              + "AMI share %.2f (%s, reference labels, gain -10..+10 dB, noise p=0.3 at 10-30 dB SNR); synthetic: 1-3 LibriSpeech pieces "
              + "0.5-4 s (room p=0.5, labels: energy VAD on the clean utterance) at -45..-15 dBFS on coloured noise (p=0.7, -75..-40 dBFS) "
              + "or silence, noise bursts p=0.5 (0.2-1.5 s, -45..-15 dBFS, non-speech), low-pass 3-7 kHz p=0.25",
          (double) peakLr, warmupSteps, steps > 0 ? steps + " steps" : "time", batch, seconds, amiShare, amiFiles)
          + (sharedRoom > 0 ? String.format(Locale.ROOT, "; p=%.2f: a scene's pieces dry, summed, then one room for all"
              + " (RT60 0.2-0.8 s, DRR -5..10 dB) and a random 3-band EQ (±8 dB, p=0.5)", sharedRoom) : "")
          + (monologues > 0 ? String.format(Locale.ROOT, "; p=%.2f: one 3-6 s piece alone (no overlap)", monologues) : "")
          + (bandLimit > 0 ? String.format(Locale.ROOT, "; p=%.2f: the whole crop band-limited as its source may be, half"
              + " through a telephone line (Augment.telephone), half through a 16th-order low-pass at 4-7.5 kHz (a"
              + " low-bitrate codec)", bandLimit) : "")
          + (tones > 0 ? String.format(Locale.ROOT, "; p=%.2f: tonal interference added as non-speech (Augment.tonal:"
              + " mains hum, beeps, steady tones)", tones) : "");
    }
  }

  /** A LibriSpeech utterance, dry and in a synthetic room, with its speech frames. */
  record Utterance(float[] clean, float[] room, boolean[] speech) {}

  /** An ami-dev recording with the number of reference talkers in each 10 ms frame. */
  record Meeting(float[] audio, int[] talkers) {}

  record Batch(float[][] crops, float[][] labels) {}

  private final Options o;
  private final TrainingLog log;

  private TrainVad(Options o, TrainingLog log) {
    this.o = o;
    this.log = log;
  }

  static final String USAGE = String.join("\n",
      "usage: train-vad [--target speech|overlap] [--data LIBRISPEECH_DIR] [--ami AMI_DIR] [--out DIR] [--minutes M | --steps N]"
          + " [--threads N] [--channels C] [--shared-room P] [--monologues P] [--band-limit P] [--tones P] [--seed N]",
      "trains parley-vad (speech) or parley-osd (--target overlap) into --out: parley-vad.params or parley-osd.params and",
      "model.properties; try it with diarize/eval --vad-model DIR (docs/VAD_MODEL_CARD.md has the committed runs)",
      "  --target speech|overlap  what a frame's label says: anyone speaking (default) or two or more at once",
      "  --data DIR               LibriSpeech utterances (default ../shared/data/librispeech-speakers)",
      "  --ami DIR                ami-dev with ami-dev.rttm; trn00-04 are trained on (default ../shared/data/ami-dev)",
      "  --out DIR                where the weights go (default /work/train/vad)",
      "  --minutes M | --steps N  stop after M minutes (default 30) or after N steps (repeatable runs)",
      "  --threads N              libtorch threads (default 2)",
      "  --channels C             convolution channels (default 64; the pipeline reads it from model.properties)",
      "  --shared-room P          overlap target: share of scenes heard through one room as a whole (default 0)",
      "  --monologues P           overlap target: share of scenes with one talker alone (default 0)",
      "  --band-limit P           share of crops band-limited as telephone or low-bitrate audio (default 0)",
      "  --tones P                share of crops with hum, beeps or a steady tone added as non-speech (default 0;",
      "                           the committed parley-vad used 0.3)",
      "  --seed N                 seeds the batches and the initial weights (default 20261130)");

  public static int run(String[] args) {
    Options o;
    try {
      o = Options.parse(args);
    } catch (IllegalArgumentException e) {
      return Flags.refused("train-vad", e, USAGE);
    }
    if (!Files.isDirectory(o.data()) || !Files.isDirectory(o.ami())) {
      System.err.println("train-vad: need " + o.data() + " and " + o.ami());
      return 2;
    }
    Options opts = o;
    return TrainingLog.train("train-vad", o.out(), o.threads(), log -> new TrainVad(opts, log).train());
  }

  private void say(String fmt, Object... args) {
    log.say(fmt, args);
  }

  // ---------------------------------------------------------------- data

  private List<Utterance> loadUtterances(Random rnd) throws IOException, AudioDecodeException {
    PipelineParams.Vad vad = PipelineParams.Vad.defaults();
    EnergyVad labeller = new EnergyVad(vad);
    List<Utterance> out = new ArrayList<>();
    for (Path f : EvaluateEmbedding.librispeechFiles(o.data()).values()) {
      float[] x = AudioDecoder.decode(f);
      float[] rir = Augment.syntheticRir(0.2 + 0.6 * rnd.nextDouble(), -5 + 15 * rnd.nextDouble(), rnd);
      float[] room = Augment.reverberate(x, rir);
      out.add(new Utterance(x, Arrays.copyOf(room, x.length), 
          labeller.detect(x).padded(vad.padSeconds()).toArray())); // labelled as the committed parley-vad was
    }
    return out;
  }

  private List<Meeting> loadMeetings() throws IOException, AudioDecodeException {
    Map<String, List<Turn>> turns = Rttm.read(o.ami().resolve("ami-dev.rttm"));
    List<Meeting> out = new ArrayList<>();
    for (String f : o.amiFiles()) {
      float[] x = AudioDecoder.decode(o.ami().resolve(f + ".wav"));
      int[] talkers = new int[SpeechMask.frameCount(x.length)];
      for (Turn t : turns.getOrDefault(f, List.of())) {
        int s = (int) Math.round(t.start() * 100);
        int e = (int) Math.round(t.end() * 100);
        for (int i = Math.max(0, s); i < Math.min(talkers.length, e); i++) talkers[i]++;
      }
      out.add(new Meeting(x, talkers));
    }
    return out;
  }

  private static double uniform(Random r, double lo, double hi) {
    return lo + (hi - lo) * r.nextDouble();
  }

  private static void scaleTo(float[] x, double dbfs) {
    double rms = Augment.rms(x);
    if (rms < 1e-9) return;
    float g = (float) (Math.pow(10, dbfs / 20) / rms);
    for (int i = 0; i < x.length; i++) x[i] *= g;
  }

  /** One crop and the number of talkers in each of its 10 ms frames. */
  private float[] crop(List<Utterance> utts, List<Meeting> meetings, Random r, int[] talkers) {
    int len = talkers.length * SpeechMask.SAMPLES_PER_FRAME;
    if (r.nextDouble() < o.amiShare()) {
      Meeting m = meetings.get(r.nextInt(meetings.size()));
      int startFrame = r.nextInt(Math.max(1, m.talkers().length - talkers.length));
      float[] x = new float[len];
      int from = startFrame * SpeechMask.SAMPLES_PER_FRAME;
      System.arraycopy(m.audio(), from, x, 0, Math.min(len, m.audio().length - from));
      for (int i = 0; i < talkers.length && startFrame + i < m.talkers().length; i++) talkers[i] = m.talkers()[startFrame + i];
      if (r.nextDouble() < 0.3) Augment.mix(x, Augment.noise(len, r.nextDouble(), r), uniform(r, 10, 30));
      Augment.gain(x, uniform(r, -10, 10));
      addTones(x, r);
      bandLimit(x, r);
      return x;
    }
    float[] x = r.nextDouble() < 0.7 ? Augment.noise(len, r.nextDouble(), r) : new float[len];
    scaleTo(x, uniform(r, -75, -40));
    int bursts = r.nextDouble() < 0.5 ? 1 + r.nextInt(2) : 0;
    for (int b = 0; b < bursts; b++) {
      int n = (int) (uniform(r, 0.2, 1.5) * SAMPLE_RATE);
      float[] burst = Augment.noise(n, r.nextDouble(), r);
      scaleTo(burst, uniform(r, -45, -15));
      int at = r.nextInt(len - n);
      for (int i = 0; i < n; i++) {
        double fade = Math.min(1, Math.min(i, n - 1 - i) / 160.0);
        x[at + i] += (float) (burst[i] * fade);
      }
    }
    // (no draw when a share is 0, so the committed recipe's random sequence stays as it was)
    boolean monologue = o.overlap() && o.monologues() > 0 && r.nextDouble() < o.monologues();
    boolean sharedRoom = o.overlap() && o.sharedRoom() > 0 && r.nextDouble() < o.sharedRoom();
    int pieces = monologue ? 1 : o.overlap() ? 2 + r.nextInt(2) : 1 + r.nextInt(3);
    double level = o.overlap() ? uniform(r, -45, -15) : 0;
    // in a shared room the scene's speech is summed dry, then reverberated as a whole, as in one meeting room
    float[] speech = sharedRoom ? new float[len] : x;
    int prevStart = 0;
    int prevFrames = 0;
    for (int p = 0; p < pieces; p++) {
      Utterance u = utts.get(r.nextInt(utts.size()));
      int frames = (int) ((monologue ? uniform(r, 3.0, 6.0) : uniform(r, 0.5, 4.0)) * 100);
      frames = Math.min(frames, Math.min(u.speech().length, talkers.length) - 1);
      int srcFrame = r.nextInt(u.speech().length - frames);
      int dstFrame = r.nextInt(talkers.length - frames);
      if (o.overlap() && p > 0 && r.nextDouble() < 0.8) {
        // start inside (or just before) the previous piece, so that the two overlap
        int lo = Math.max(0, prevStart - frames / 2);
        int hi = Math.min(talkers.length - frames, prevStart + prevFrames - 20);
        if (hi > lo) dstFrame = lo + r.nextInt(hi - lo);
      }
      float[] src = sharedRoom ? u.clean() : r.nextBoolean() ? u.room() : u.clean();
      float[] piece = Arrays.copyOfRange(src, srcFrame * 160, (srcFrame + frames) * 160);
      scaleTo(piece, o.overlap() ? level + uniform(r, -8, 4) : uniform(r, -45, -15));
      for (int i = 0; i < piece.length; i++) speech[dstFrame * 160 + i] += piece[i];
      for (int f = 0; f < frames; f++) if (u.speech()[srcFrame + f]) talkers[dstFrame + f]++;
      prevStart = dstFrame;
      prevFrames = frames;
    }
    if (sharedRoom) {
      float[] room = Augment.reverberate(speech, Augment.syntheticRir(uniform(r, 0.2, 0.8), uniform(r, -5, 10), r));
      if (r.nextDouble() < 0.5) Augment.randomEq(room, 3, 8, r);
      for (int i = 0; i < len; i++) x[i] += room[i];
    }
    if (r.nextDouble() < 0.25) Augment.biquad(x, uniform(r, 3000, 7000), true);
    addTones(x, r);
    bandLimit(x, r);
    return x;
  }

  /**
   * With {@code --tones}' probability, hum or tones join the crop, labelled as what they are: not
   * speech (the frames' labels do not change). No draw when the share is 0.
   */
  private void addTones(float[] x, Random r) {
    if (o.tones() <= 0 || r.nextDouble() >= o.tones()) return;
    float[] t = Augment.tonal(x.length, r);
    for (int i = 0; i < x.length; i++) x[i] += t[i];
  }

  /**
   * With {@code --band-limit}'s probability, the crop as a band-limited source leaves it: nothing
   * above the cut, silence included, which the gentle low-pass above never gives. (No draw when
   * the share is 0, so the committed recipe's random sequence stays as it was.)
   */
  private void bandLimit(float[] x, Random r) {
    if (o.bandLimit() <= 0 || r.nextDouble() >= o.bandLimit()) return;
    if (r.nextBoolean()) {
      Augment.telephone(x, r);
    } else {
      double cut = uniform(r, 4000, 7500);
      for (int k = 0; k < 8; k++) Augment.biquad(x, cut, true);
    }
  }

  private Batch batch(List<Utterance> utts, List<Meeting> meetings, Random r) {
    int maskFrames = (int) Math.round(o.seconds() * 100);
    int fbankFrames = Fbank.frameCount(maskFrames * SpeechMask.SAMPLES_PER_FRAME);
    float[][] crops = new float[o.batch()][];
    float[][] labels = new float[o.batch()][fbankFrames];
    for (int b = 0; b < o.batch(); b++) {
      int[] talkers = new int[maskFrames];
      crops[b] = crop(utts, meetings, r, talkers);
      int needed = o.overlap() ? 2 : 1;
      // fbank frame f is centred on sample 160 f + 200, inside 10 ms frame f + 1
      for (int f = 0; f < fbankFrames; f++) labels[b][f] = talkers[Math.min(maskFrames - 1, f + 1)] >= needed ? 1f : 0f;
    }
    return new Batch(crops, labels);
  }

  // ---------------------------------------------------------------- network

  /** VadNet plus its loss: inputs (features, labels), outputs (mean BCE, correct frames). */
  static final class TrainNet extends LossHead<VadNet> {
    TrainNet(VadNet net) {
      super((byte) 1, net);
    }

    @Override
    NDList loss(ParameterStore ps, NDArray z, NDArray y, boolean training) {
      // numerically stable binary cross-entropy with logits
      NDArray loss = z.maximum(0f).sub(z.mul(y)).add(z.abs().neg().exp().add(1f).log()).mean();
      NDArray correct = z.gt(0f).toType(DataType.FLOAT32, false).eq(y).toType(DataType.FLOAT32, false).sum();
      return new NDList(loss, correct);
    }
  }

  // ---------------------------------------------------------------- loop

  private void train() throws IOException, AudioDecodeException, InterruptedException {
    Random rnd = new Random(o.seed());
    long t0 = System.nanoTime();
    List<Utterance> utts = loadUtterances(rnd);
    List<Meeting> meetings = loadMeetings();
    say("%d LibriSpeech utterances, %d meetings; data ready in %.0f s; recipe: %s",
        utts.size(), meetings.size(), (System.nanoTime() - t0) / 1e9, o.recipe());

    BlockingQueue<Batch> queue = new ArrayBlockingQueue<>(4);
    Thread producer = new Thread(() -> {
      Random r = new Random(o.seed() * 31);
      try {
        while (!Thread.currentThread().isInterrupted()) queue.put(batch(utts, meetings, r));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "batch-producer");
    producer.setDaemon(true);
    producer.start();

    ManualLearningRate schedule = new ManualLearningRate();
    VadNet net = new VadNet(o.channels());
    TrainNet trainNet = new TrainNet(net);
    int maskFrames = (int) Math.round(o.seconds() * 100);
    int frames = Fbank.frameCount(maskFrames * SpeechMask.SAMPLES_PER_FRAME);
    try (Model model = Model.newInstance("parley-vad-train"); Fbank fbank = new Fbank(null)) {
      model.setBlock(trainNet);
      Engine.getInstance().setRandomSeed((int) o.seed()); // the initial weights too (see train-embedding)
      DefaultTrainingConfig cfg = new DefaultTrainingConfig(Loss.l2Loss())
          .optInitializer(new XavierInitializer(), Parameter.Type.WEIGHT)
          .optOptimizer(Optimizer.adam().optLearningRateTracker(schedule).build());
      try (Trainer trainer = model.newTrainer(cfg)) {
        trainer.initialize(new Shape(o.batch(), frames, VadNet.INPUT), new Shape(o.batch(), frames));
        double budget = o.minutes() * 60;
        long start = System.nanoTime();
        int step = 0;
        double lossSum = 0;
        double correct = 0;
        long seen = 0;
        while (true) {
          double elapsed = (System.nanoTime() - start) / 1e9;
          if (o.steps() > 0 ? step >= o.steps() : elapsed >= budget) break;
          double frac = o.steps() > 0 ? step / (double) o.steps() : elapsed / budget;
          float warm = Math.min(1f, (step + 1f) / o.warmupSteps());
          float cosine = (float) (0.5 * (1 + Math.cos(Math.PI * frac)));
          schedule.lr = o.peakLr() * warm * (0.02f + 0.98f * cosine);
          Batch b = queue.take();
          try (NDManager sm = model.getNDManager().newSubManager()) {
            float[] mel = fbank.computeBatch(b.crops(), sm).toFloatArray();
            float[] in = new float[o.batch() * frames * VadNet.INPUT];
            float[] lab = new float[o.batch() * frames];
            for (int i = 0; i < o.batch(); i++) {
              float[] one = Arrays.copyOfRange(mel, i * frames * Fbank.NUM_BINS, (i + 1) * frames * Fbank.NUM_BINS);
              System.arraycopy(VadNet.features(one, frames), 0, in, i * frames * VadNet.INPUT, frames * VadNet.INPUT);
              System.arraycopy(b.labels()[i], 0, lab, i * frames, frames);
            }
            NDList out;
            try (GradientCollector gc = trainer.newGradientCollector()) {
              out = trainer.forward(new NDList(sm.create(in, new Shape(o.batch(), frames, VadNet.INPUT)),
                  sm.create(lab, new Shape(o.batch(), frames))));
              gc.backward(out.get(0));
            }
            trainer.step();
            float loss = out.get(0).getFloat();
            if (!Float.isFinite(loss)) throw new IllegalStateException("loss is " + loss + " at step " + step);
            lossSum += loss;
            correct += out.get(1).getFloat();
            seen += (long) o.batch() * frames;
          }
          step++;
          if (step % 50 == 0) {
            say("step %d  min %.1f  lr %.2e  loss %.4f  frame acc %.4f", step, elapsed / 60, schedule.lr, lossSum / 50, correct / seen);
            lossSum = 0;
            correct = 0;
            seen = 0;
          }
        }
        producer.interrupt();
        save(net, step, (System.nanoTime() - start) / 60e9);
      }
    }
  }

  private void save(VadNet net, int steps, double minutes) throws IOException {
    Path tmp = o.out().resolve(o.name() + ".params.tmp");
    try (OutputStream os = Files.newOutputStream(tmp)) {
      net.saveParameters(new DataOutputStream(os));
    }
    Files.move(tmp, o.out().resolve(o.name() + ".params"), StandardCopyOption.REPLACE_EXISTING);
    Properties p = new Properties();
    p.setProperty("channels", "" + net.channels());
    p.setProperty("target", o.overlap() ? "overlap" : "speech");
    p.setProperty("steps", "" + steps);
    p.setProperty("trainingMinutes", String.format(Locale.ROOT, "%.1f", minutes));
    p.setProperty("trainedAt", Instant.now().toString());
    p.setProperty("recipe", o.recipe());
    try (Writer w = Files.newBufferedWriter(o.out().resolve(ModelWeights.PROPERTIES_FILE), StandardCharsets.UTF_8)) {
      p.store(w, o.name() + ", written by train-vad");
    }
    say("saved after %d steps, %.1f min", steps, minutes);
  }
}
