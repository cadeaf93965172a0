package dev.parley.gpu.training;

import static dev.parley.gpu.pipeline.audio.AudioDecoder.SAMPLE_RATE;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
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
import dev.parley.gpu.embedding.SpeakerTdnn;
import dev.parley.gpu.embedding.TdnnSpeakerModel;
import dev.parley.gpu.eval.Rttm;
import dev.parley.gpu.eval.Turn;
import dev.parley.gpu.pipeline.audio.AudioDecodeException;
import dev.parley.gpu.pipeline.audio.AudioDecoder;
import dev.parley.gpu.pipeline.features.Fbank;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

/**
 * {@code train-embedding}: trains Parley's speaker TDNN with AAM-softmax on LibriSpeech speakers
 * (minus the held-out list) and the single-speaker speech of ami-dev trn00..trn04, with speed
 * perturbation (each speed a pseudo-speaker), synthetic reverberation, babble, noise, band limits
 * and gain. Time-budgeted, checkpointed and resumable; writes {@code parley-embed.params} and
 * {@code model.properties} into {@code --out}.
 */
public final class TrainEmbedding {

  /** Every training parameter, with its default, in one place. */
  public record Options(
      Path data,
      Path ami,
      Path out,
      double minutes,
      int steps,
      int threads,
      boolean resume,
      int batch,
      int minFrames,
      int maxFrames,
      float peakLr,
      float finalLrFraction,
      int warmupSteps,
      float weightDecay,
      float margin,
      float scale,
      double marginRampFraction,
      double checkpointMinutes,
      long seed,
      SpeakerTdnn.Config net,
      List<String> amiTrainFiles,
      double amiShare,
      double[] speeds,
      double pReverbLibri,
      double pReverbAmi,
      double pBabble,
      double pNoise,
      double pLowPass,
      double pHighPass,
      double pTelephone,
      double pSpecAugment,
      double dropout,
      double pRoomPerCrop,
      double pColour,
      boolean shapedRooms) {

    static Options defaults() {
      return new Options(
          Path.of("../shared/data/librispeech-speakers"),
          Path.of("../shared/data/ami-dev"),
          Path.of("/work/train"),
          60,
          0,
          2,
          false,
          32,
          100,
          250,
          2e-3f,
          0.02f,
          400,
          1e-5f,
          0.2f,
          30f,
          0.15,
          5,
          20261129L,
          SpeakerTdnn.Config.DEFAULT,
          List.of("trn00", "trn01", "trn02", "trn03", "trn04"),
          0.15,
          new double[] {0.9, 1.0, 1.1},
          0.5,
          0.15,
          0.3,
          0.4,
          0.25,
          0.15,
          0.0,
          0.0,
          0.0,
          0.0,
          0.0,
          false);
    }

    static final Set<String> VALUE_FLAGS = Set.of("--data", "--ami", "--out", "--minutes", "--steps", "--threads", "--batch",
        "--lr", "--channels", "--checkpoint-minutes", "--min-frames", "--max-frames", "--telephone",
        "--spec-augment", "--speeds", "--dropout", "--room-per-crop", "--colour", "--seed");

    /** The defaults, with what {@code args} overrides. */
    static Options parse(String[] args) {
      Flags f = Flags.parse(args, VALUE_FLAGS, Set.of("--resume", "--shaped-rooms"));
      Options d = defaults();
      SpeakerTdnn.Config net = f.has("--channels")
          ? new SpeakerTdnn.Config(f.positiveInt("--channels", 0), d.net().poolChannels(), d.net().embeddingDim())
          : d.net();
      int minFrames = f.positiveInt("--min-frames", d.minFrames());
      int maxFrames = f.positiveInt("--max-frames", d.maxFrames());
      if (maxFrames < minFrames) throw new IllegalArgumentException("--max-frames must be at least --min-frames");
      return new Options(f.path("--data", d.data()), f.path("--ami", d.ami()), f.path("--out", d.out()),
          f.positive("--minutes", d.minutes()), f.has("--steps") ? f.positiveInt("--steps", 1) : d.steps(),
          f.positiveInt("--threads", d.threads()), f.has("--resume"),
          f.positiveInt("--batch", d.batch()), minFrames, maxFrames, (float) f.positive("--lr", d.peakLr()),
          d.finalLrFraction(), d.warmupSteps(), d.weightDecay(), d.margin(), d.scale(), d.marginRampFraction(),
          f.positive("--checkpoint-minutes", d.checkpointMinutes()),
          f.has("--seed") ? f.positiveInt("--seed", 1) : d.seed(), net, d.amiTrainFiles(), d.amiShare(),
          f.positiveList("--speeds", d.speeds()), d.pReverbLibri(), d.pReverbAmi(), d.pBabble(), d.pNoise(), d.pLowPass(), d.pHighPass(),
          f.probability("--telephone", d.pTelephone()), f.probability("--spec-augment", d.pSpecAugment()),
          f.probability("--dropout", d.dropout()), f.probability("--room-per-crop", d.pRoomPerCrop()),
          f.probability("--colour", d.pColour()), f.has("--shaped-rooms") || d.shapedRooms());
    }

    String recipe() {
      return String.format(Locale.ROOT,
          "AAM-softmax s=%.0f m=%.2f (ramped over %.0f%% of the budget); Adam lr %.0e warmup %d steps, cosine to %.0f%% by %s; batch %d x %d-%d frames; "
              + "speeds %s as pseudo-speakers; reverb p=%.2f (LibriSpeech) / %.2f (AMI), babble p=%.2f (1-3 talkers, 5-15 dB below), noise p=%.2f (5-25 dB SNR), "
              + "low-pass p=%.2f (3-7 kHz), high-pass p=%.2f (100-400 Hz), telephone channel p=%.2f (8 kHz, mu-law), gain -20..0 dB; SpecAugment p=%.2f (one 0-10 bin band"
              + " and one 0-20 frame stretch of the normalised features zeroed); dropout %.2f on the pooled statistics; AMI share %.2f; "
              + "a random room per reverberant crop instead of the speaker's own p=%.2f; random channel colouring p=%.2f (3 peaking filters, +-8 dB); rooms %s",
          scale, margin, marginRampFraction * 100, (double) peakLr, warmupSteps, finalLrFraction * 100,
          steps > 0 ? steps + " steps" : "time", batch, minFrames, maxFrames,
          Arrays.toString(speeds), pReverbLibri, pReverbAmi, pBabble, pNoise, pLowPass, pHighPass, pTelephone, pSpecAugment,
          dropout, amiShare, pRoomPerCrop, pColour,
          shapedRooms ? "shaped (early reflections, faster decay at high frequencies)" : "noise tails");
    }
  }

  /** One training source: all speech of one speaker, clean and with a synthetic room. */
  record Source(int speaker, String name, boolean ami, float[] clean, float[] reverb) {}

  /** @param mask {@code [batch][frames][80]} flattened, multiplied into the features; null for none */
  record Batch(float[][] crops, int[] labels, int frames, float[] mask) {}

  /** Steps over which the learning rate ramps up again after a resume. */
  static final int RESUME_WARMUP_STEPS = 100;

  private final Options o;
  private final TrainingLog log;

  /** Rooms a reverberant crop draws from with {@code --room-per-crop}. */
  private static final int ROOM_POOL = 256;

  private float[][] roomPool;

  private TrainEmbedding(Options o, TrainingLog log) {
    this.o = o;
    this.log = log;
  }

  static final String USAGE =
      "usage: train-embedding [--data LIBRISPEECH_DIR] [--ami AMI_DIR] [--out DIR] [--minutes M | --steps N]"
          + " [--threads N] [--resume] [--batch B] [--lr LR] [--channels C] [--checkpoint-minutes M]"
          + " [--min-frames F] [--max-frames F] [--telephone P] [--spec-augment P] [--speeds S,S,...] [--dropout P]"
          + " [--room-per-crop P] [--colour P] [--shaped-rooms] [--seed N]";

  public static int run(String[] args) {
    Options o;
    try {
      o = Options.parse(args);
    } catch (IllegalArgumentException e) {
      return Flags.refused("train-embedding", e, USAGE);
    }
    if (!Files.isDirectory(o.data())) {
      System.err.println("train-embedding: no LibriSpeech directory " + o.data());
      return 2;
    }
    Options opts = o;
    return TrainingLog.train("train-embedding", o.out(), o.threads(), log -> new TrainEmbedding(opts, log).train());
  }

  private void say(String fmt, Object... args) {
    log.say(fmt, args);
  }

  // ---------------------------------------------------------------- data

  private List<Source> loadSources(Random rnd) throws IOException, AudioDecodeException {
    List<String> heldOut = EvaluateEmbedding.heldOutSpeakers();
    Map<String, Path> files = EvaluateEmbedding.librispeechFiles(o.data());
    List<String> names = new ArrayList<>();
    List<float[]> audio = new ArrayList<>();
    List<Boolean> isAmi = new ArrayList<>();
    for (Map.Entry<String, Path> e : files.entrySet()) {
      if (heldOut.contains(e.getKey())) {
        continue;
      }
      names.add("libri-" + e.getKey());
      audio.add(AudioDecoder.decode(e.getValue()));
      isAmi.add(false);
    }
    say("LibriSpeech: %d training speakers (%d held out)", names.size(), heldOut.size());
    if (Files.isDirectory(o.ami())) {
      Map<String, List<Turn>> turns = Rttm.read(o.ami().resolve("ami-dev.rttm"));
      Map<String, List<float[]>> bySpeaker = new LinkedHashMap<>();
      for (String f : o.amiTrainFiles()) {
        float[] x = AudioDecoder.decode(o.ami().resolve(f + ".wav"));
        for (SpeakerRegions.Region r : SpeakerRegions.singleSpeaker(turns, f, x.length, 0.3)) {
          bySpeaker
              .computeIfAbsent(r.speaker(), k -> new ArrayList<>())
              .add(Arrays.copyOfRange(x, r.from(), r.to()));
        }
      }
      for (Map.Entry<String, List<float[]>> e : bySpeaker.entrySet()) {
        int n = e.getValue().stream().mapToInt(a -> a.length).sum();
        if (n < SAMPLE_RATE) {
          say("AMI speaker %s skipped: only %.1f s of single-speaker speech", e.getKey(), n / (double) SAMPLE_RATE);
          continue;
        }
        float[] all = new float[n];
        int p = 0;
        for (float[] a : e.getValue()) {
          System.arraycopy(a, 0, all, p, a.length);
          p += a.length;
        }
        names.add("ami-" + e.getKey());
        audio.add(all);
        isAmi.add(true);
        say("AMI speaker %s: %.1f s", e.getKey(), n / (double) SAMPLE_RATE);
      }
    }
    long[] seeds = new long[names.size()];
    for (int i = 0; i < seeds.length; i++) {
      seeds[i] = rnd.nextLong();
    }
    Source[] out = new Source[names.size()];
    ForkJoinPool pool = new ForkJoinPool(o.threads());
    try {
      pool.submit(
              () ->
                  IntStream.range(0, out.length)
                      .parallel()
                      .forEach(
                          i -> {
                            Random r = new Random(seeds[i]);
                            float[] rir = room(0.2 + 0.6 * r.nextDouble(), -5 + 15 * r.nextDouble(), r);
                            float[] clean = audio.get(i);
                            out[i] =
                                new Source(i, names.get(i), isAmi.get(i), clean,
                                    Augment.reverberate(clean, rir));
                          }))
          .get();
    } catch (Exception e) {
      throw new IllegalStateException("reverberation failed", e);
    } finally {
      pool.shutdown();
    }
    return List.of(out);
  }

  private float[] room(double rt60, double drrDb, Random r) {
    return o.shapedRooms() ? Augment.shapedRir(rt60, drrDb, r) : Augment.syntheticRir(rt60, drrDb, r);
  }

  private Batch makeBatch(List<Source> sources, List<Source> libri, List<Source> ami, Random r) {
    int frames = o.minFrames() + r.nextInt(o.maxFrames() - o.minFrames() + 1);
    int len = (frames - 1) * Fbank.FRAME_SHIFT + Fbank.FRAME_LENGTH;
    float[][] crops = new float[o.batch()][];
    int[] labels = new int[o.batch()];
    int speeds = o.speeds().length;
    for (int b = 0; b < o.batch(); b++) {
      Source s =
          !ami.isEmpty() && r.nextDouble() < o.amiShare()
              ? ami.get(r.nextInt(ami.size()))
              : libri.get(r.nextInt(libri.size()));
      int si = r.nextInt(speeds);
      double speed = o.speeds()[si];
      labels[b] = s.speaker() * speeds + si;
      boolean reverb = r.nextDouble() < (s.ami() ? o.pReverbAmi() : o.pReverbLibri());
      float[] x;
      // no draw at 0, here and for the colouring: the default recipe's random stream is unchanged
      if (reverb && o.pRoomPerCrop() > 0 && r.nextDouble() < o.pRoomPerCrop()) {
        float[] dry = Augment.crop(s.clean(), r.nextInt(s.clean().length), len, speed);
        x = Arrays.copyOf(Augment.reverberate(dry, roomPool[r.nextInt(roomPool.length)]), len);
      } else {
        float[] src = reverb ? s.reverb() : s.clean();
        x = Augment.crop(src, r.nextInt(src.length), len, speed);
      }
      if (r.nextDouble() < o.pBabble()) {
        int talkers = 1 + r.nextInt(3);
        float[] babble = new float[len];
        for (int t = 0; t < talkers; t++) {
          Source other = sources.get(r.nextInt(sources.size()));
          if (other.speaker() == s.speaker()) {
            continue;
          }
          float[] ob = r.nextBoolean() ? other.reverb() : other.clean();
          float[] c = Augment.crop(ob, r.nextInt(ob.length), len, 1.0);
          double g = 1 / Math.max(1e-6, Augment.rms(c));
          for (int i = 0; i < len; i++) {
            babble[i] += (float) (c[i] * g);
          }
        }
        Augment.mix(x, babble, 5 + 10 * r.nextDouble());
      }
      if (r.nextDouble() < o.pNoise()) {
        double colour = new double[] {0, 0.9, 0.99}[r.nextInt(3)];
        Augment.mix(x, Augment.noise(len, colour, r), 5 + 20 * r.nextDouble());
      }
      if (o.pTelephone() > 0 && r.nextDouble() < o.pTelephone()) { // no draw at 0: the default recipe's random stream is unchanged
        Augment.telephone(x, r);
      } else {
        if (r.nextDouble() < o.pLowPass()) {
          Augment.biquad(x, 3000 + 4000 * r.nextDouble(), true);
        }
        if (r.nextDouble() < o.pHighPass()) {
          Augment.biquad(x, 100 + 300 * r.nextDouble(), false);
        }
      }
      if (o.pColour() > 0 && r.nextDouble() < o.pColour()) {
        Augment.randomEq(x, 3, 8, r);
      }
      Augment.gain(x, -20 * r.nextDouble());
      crops[b] = x;
    }
    return new Batch(crops, labels, frames, specAugmentMask(frames, r));
  }

  /** SpecAugment: per crop with probability pSpecAugment, one band of mel bins and one stretch of frames are zeroed. */
  private float[] specAugmentMask(int frames, Random r) {
    if (o.pSpecAugment() <= 0) return null;
    int bins = Fbank.NUM_BINS;
    float[] mask = new float[o.batch() * frames * bins];
    Arrays.fill(mask, 1f);
    for (int b = 0; b < o.batch(); b++) {
      if (r.nextDouble() >= o.pSpecAugment()) continue;
      int fw = r.nextInt(11);
      int f0 = r.nextInt(bins - fw + 1);
      int tw = r.nextInt(21);
      int t0 = r.nextInt(frames - tw + 1);
      for (int t = 0; t < frames; t++) {
        int row = (b * frames + t) * bins;
        if (t >= t0 && t < t0 + tw) {
          Arrays.fill(mask, row, row + bins, 0f);
        } else {
          Arrays.fill(mask, row + f0, row + f0 + fw, 0f);
        }
      }
    }
    return mask;
  }

  // ---------------------------------------------------------------- model

  /** The speaker network plus an AAM-softmax head; forward(features, labels) -> (loss, correct). */
  static final class TrainNet extends LossHead<SpeakerTdnn> {
    final Parameter weight;
    final int classes;
    volatile float margin;
    final float scale;

    TrainNet(SpeakerTdnn net, int classes, float scale) {
      super((byte) 1, net);
      this.classes = classes;
      this.scale = scale;
      this.weight =
          addParameter(
              Parameter.builder()
                  .setName("aam")
                  .setType(Parameter.Type.WEIGHT)
                  .optShape(new Shape(classes, net.config().embeddingDim()))
                  .build());
    }

    @Override
    NDList loss(ParameterStore ps, NDArray emb, NDArray labels, boolean training) {
      NDArray w = ps.getValue(weight, emb.getDevice(), training);
      NDArray e = emb.div(emb.norm(new int[] {1}, true).maximum(1e-6f));
      NDArray wn = w.div(w.norm(new int[] {1}, true).maximum(1e-6f));
      NDArray cos = e.matMul(wn.transpose()).clip(-1 + 1e-6f, 1 - 1e-6f);
      NDArray oneHot = labels.oneHot(classes, DataType.FLOAT32);
      float m = margin;
      NDArray sin = cos.square().neg().add(1).sqrt();
      NDArray phi = cos.mul((float) Math.cos(m)).sub(sin.mul((float) Math.sin(m)));
      // keep the target logit monotonic past theta = pi - m
      float th = (float) Math.cos(Math.PI - m);
      float mm = (float) (Math.sin(Math.PI - m) * m);
      phi = NDArrays.where(cos.gt(th), phi, cos.sub(mm));
      NDArray logits = oneHot.mul(phi).add(oneHot.neg().add(1).mul(cos)).mul(scale);
      NDArray loss = logits.logSoftmax(1).mul(oneHot).sum(new int[] {1}).neg().mean();
      NDArray correct = cos.argMax(1).toType(DataType.INT32, false).eq(labels.toType(DataType.INT32, false)).sum();
      return new NDList(loss, correct);
    }
  }

  // ---------------------------------------------------------------- loop

  private void train() throws IOException, AudioDecodeException, InterruptedException {
    Random rnd = new Random(o.seed());
    long t0 = System.nanoTime();
    List<Source> sources = loadSources(rnd);
    List<Source> libri = sources.stream().filter(s -> !s.ami()).toList();
    List<Source> ami = sources.stream().filter(Source::ami).toList();
    int classes = sources.size() * o.speeds().length;
    say("%d sources (%d AMI), %d classes; data ready in %.0f s; recipe: %s",
        sources.size(), ami.size(), classes, (System.nanoTime() - t0) / 1e9, o.recipe());

    List<EvaluateEmbedding.Segment> evalLibri =
        EvaluateEmbedding.librispeechSegments(o.data(), EvaluateEmbedding.heldOutSpeakers());
    List<EvaluateEmbedding.Segment> evalAmi =
        Files.isDirectory(o.ami())
            ? EvaluateEmbedding.amiSegments(o.ami(), EvaluateEmbedding.AMI_EVAL_FILES)
            : List.of();

    Path ckpt = o.out().resolve("ckpt.params");
    Path state = o.out().resolve("ckpt.properties");
    int step = 0;
    double elapsedBefore = 0;
    if (o.resume() && Files.exists(ckpt) && Files.exists(state)) {
      Properties p = load(state);
      step = Integer.parseInt(p.getProperty("step"));
      elapsedBefore = Double.parseDouble(p.getProperty("elapsedSeconds"));
      if (Integer.parseInt(p.getProperty("classes")) != classes) {
        throw new IllegalStateException("checkpoint has " + p.getProperty("classes") + " classes, data gives " + classes);
      }
    }

    roomPool = new float[o.pRoomPerCrop() > 0 ? ROOM_POOL : 0][];
    Random roomRandom = new Random(o.seed() + 7);
    for (int i = 0; i < roomPool.length; i++) {
      roomPool[i] = room(0.2 + 0.6 * roomRandom.nextDouble(), -5 + 15 * roomRandom.nextDouble(), roomRandom);
    }
    BlockingQueue<Batch> queue = new ArrayBlockingQueue<>(4);
    long producerSeed = o.seed() * 31 + step;
    Thread producer =
        new Thread(
            () -> {
              Random r = new Random(producerSeed);
              try {
                while (!Thread.currentThread().isInterrupted()) {
                  queue.put(makeBatch(sources, libri, ami, r));
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "batch-producer");
    producer.setDaemon(true);
    producer.start();

    ManualLearningRate schedule = new ManualLearningRate();
    SpeakerTdnn net = new SpeakerTdnn(o.net()).withTrainingDropout(o.dropout());
    TrainNet trainNet = new TrainNet(net, classes, o.scale());
    try (Model model = Model.newInstance("parley-embed-train");
        Fbank fbank = new Fbank((Device) null)) {
      model.setBlock(trainNet);
      // the weights' initial draw too, so that a step budget with a seed repeats a run exactly
      Engine.getInstance().setRandomSeed((int) o.seed());
      DefaultTrainingConfig cfg =
          new DefaultTrainingConfig(Loss.l2Loss())
              .optInitializer(new XavierInitializer(), Parameter.Type.WEIGHT)
              .optOptimizer(
                  Optimizer.adam()
                      .optLearningRateTracker(schedule)
                      .optWeightDecays(o.weightDecay())
                      .build());
      Shape[] inputShapes = {new Shape(o.batch(), o.minFrames(), Fbank.NUM_BINS), new Shape(o.batch())};
      if (step > 0) {
        // Load before the Trainer exists: Trainer.initialize caches each parameter's array in its
        // ParameterStore, and Parameter.initialize keeps arrays that are already there. Loading
        // afterwards would replace the arrays behind the trainer's back (it would train stale
        // copies while checkpoints saved the loaded ones).
        trainNet.setInitializer(new XavierInitializer(), Parameter.Type.WEIGHT);
        trainNet.initialize(model.getNDManager(), DataType.FLOAT32, inputShapes);
        try (InputStream in = Files.newInputStream(ckpt)) {
          trainNet.loadParameters(model.getNDManager(), new DataInputStream(in));
        } catch (MalformedModelException e) {
          throw new IOException("corrupt checkpoint " + ckpt, e);
        }
      }
      try (Trainer trainer = model.newTrainer(cfg)) {
        trainer.initialize(inputShapes);
        if (step > 0) {
          say("resumed at step %d after %.1f min", step, elapsedBefore / 60);
          evaluate(net, fbank, evalLibri, evalAmi, step);
        }
        say("network: %s, %d parameters", o.net(), net.parameterCount());
        double budget = o.minutes() * 60;
        final int firstStep = step;
        long start = System.nanoTime();
        long lastCkpt = start;
        double lossSum = 0;
        long correct = 0;
        long seen = 0;
        long windowStart = System.nanoTime();
        int windowSteps = 0;
        while (true) {
          double elapsed = elapsedBefore + (System.nanoTime() - start) / 1e9;
          double frac = o.steps() > 0 ? Math.min(1, step / (double) o.steps()) : Math.min(1, elapsed / budget);
          if (o.steps() > 0 ? step >= o.steps() : elapsed >= budget) {
            break;
          }
          // warm up from scratch, and again briefly after a resume (Adam's moments start empty)
          float warm = Math.min(1f, (step + 1f) / o.warmupSteps());
          if (firstStep > 0) {
            warm = Math.min(warm, (step - firstStep + 1f) / RESUME_WARMUP_STEPS);
          }
          float cosine = (float) (0.5 * (1 + Math.cos(Math.PI * frac)));
          schedule.lr = o.peakLr() * warm * (o.finalLrFraction() + (1 - o.finalLrFraction()) * cosine);
          trainNet.margin = (float) (o.margin() * Math.min(1, frac / o.marginRampFraction()));
          Batch b = queue.take();
          try (NDManager sm = model.getNDManager().newSubManager()) {
            NDArray feats = Fbank.cmn(fbank.computeBatch(b.crops(), sm));
            if (b.mask() != null) {
              feats = feats.mul(sm.create(b.mask(), new Shape(o.batch(), b.frames(), Fbank.NUM_BINS)));
            }
            NDArray labels = sm.create(b.labels());
            NDList out;
            try (GradientCollector gc = trainer.newGradientCollector()) {
              out = trainer.forward(new NDList(feats, labels));
              gc.backward(out.get(0));
            }
            trainer.step();
            float loss = out.get(0).getFloat();
            if (!Float.isFinite(loss)) {
              throw new IllegalStateException("loss is " + loss + " at step " + step);
            }
            lossSum += loss;
            correct += out.get(1).toType(DataType.INT64, false).getLong();
            seen += o.batch();
          }
          step++;
          windowSteps++;
          if (step % 25 == 0) {
            double ms = (System.nanoTime() - windowStart) / 1e6 / windowSteps;
            say("step %d  min %.1f  lr %.2e  margin %.2f  loss %.3f  acc %.3f  ms/step %.0f",
                step, elapsed / 60, schedule.lr, trainNet.margin, lossSum / windowSteps,
                (double) correct / seen, ms);
            lossSum = 0;
            correct = 0;
            seen = 0;
            windowStart = System.nanoTime();
            windowSteps = 0;
          }
          if ((System.nanoTime() - lastCkpt) / 60e9 >= o.checkpointMinutes()) {
            double el = elapsedBefore + (System.nanoTime() - start) / 1e9;
            checkpoint(trainNet, ckpt, state, step, el, classes);
            evaluate(net, fbank, evalLibri, evalAmi, step);
            lastCkpt = System.nanoTime();
            windowStart = System.nanoTime();
            windowSteps = 0;
            lossSum = 0;
            correct = 0;
            seen = 0;
          }
        }
        double total = elapsedBefore + (System.nanoTime() - start) / 1e9;
        checkpoint(trainNet, ckpt, state, step, total, classes);
        EvaluateEmbedding.Result r = evaluate(net, fbank, evalLibri, evalAmi, step);
        export(net, step, total, classes, sources, r);
      }
    } finally {
      producer.interrupt();
    }
  }

  private EvaluateEmbedding.Result evaluate(
      SpeakerTdnn net, Fbank fbank, List<EvaluateEmbedding.Segment> libri,
      List<EvaluateEmbedding.Segment> ami, int step) {
    long t = System.nanoTime();
    EvaluateEmbedding.Result r =
        EvaluateEmbedding.evaluate(
            x -> net.forward(new ParameterStore(x.getManager(), false), new NDList(x), false)
                .singletonOrThrow(),
            fbank, libri, ami);
    say("eval step %d: EER librispeech-heldout %.2f%%  shared-room %.2f%%  ami-all %.2f%%  ami-within-file %.2f%%  (%.0f s)",
        step, 100 * r.libriEer(), 100 * r.roomEer(), 100 * r.amiEer(), 100 * r.amiWithinFileEer(),
        (System.nanoTime() - t) / 1e9);
    return r;
  }

  private void checkpoint(TrainNet trainNet, Path ckpt, Path state, int step, double elapsed, int classes)
      throws IOException {
    Path tmp = ckpt.resolveSibling(ckpt.getFileName() + ".tmp");
    try (OutputStream os = Files.newOutputStream(tmp)) {
      trainNet.saveParameters(new DataOutputStream(os));
    }
    Files.move(tmp, ckpt, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    Properties p = new Properties();
    p.setProperty("step", "" + step);
    p.setProperty("elapsedSeconds", String.format(Locale.ROOT, "%.1f", elapsed));
    p.setProperty("classes", "" + classes);
    store(p, state, "train-embedding checkpoint");
    say("checkpoint at step %d (%.1f min)", step, elapsed / 60);
  }

  private void export(SpeakerTdnn net, int step, double seconds, int classes, List<Source> sources,
      EvaluateEmbedding.Result r) throws IOException {
    Path params = o.out().resolve(TdnnSpeakerModel.PARAMS_FILE);
    try (OutputStream os = Files.newOutputStream(params)) {
      net.saveParameters(new DataOutputStream(os));
    }
    Properties p = new Properties();
    o.net().to(p);
    p.setProperty("parameters", "" + net.parameterCount());
    p.setProperty("steps", "" + step);
    p.setProperty("trainingMinutes", String.format(Locale.ROOT, "%.1f", seconds / 60));
    p.setProperty("classes", "" + classes);
    p.setProperty("trainingSpeakers", "" + sources.size());
    p.setProperty("trainedAt", Instant.now().toString());
    p.setProperty("recipe", o.recipe());
    p.setProperty("eer.librispeech", String.format(Locale.ROOT, "%.4f", r.libriEer()));
    p.setProperty("eer.librispeech.sharedRoom", String.format(Locale.ROOT, "%.4f", r.roomEer()));
    p.setProperty("eer.ami", String.format(Locale.ROOT, "%.4f", r.amiEer()));
    p.setProperty("eer.ami.withinFile", String.format(Locale.ROOT, "%.4f", r.amiWithinFileEer()));
    store(p, o.out().resolve(TdnnSpeakerModel.PROPERTIES_FILE), "Parley speaker TDNN (train-embedding)");
    say("exported %s (%d bytes), steps %d, %.1f min", params, Files.size(params), step, seconds / 60);
  }

  private static Properties load(Path file) throws IOException {
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file)) {
      p.load(r);
    }
    return p;
  }

  private static void store(Properties p, Path file, String comment) throws IOException {
    try (Writer w = Files.newBufferedWriter(file)) {
      p.store(w, comment);
    }
  }
}
