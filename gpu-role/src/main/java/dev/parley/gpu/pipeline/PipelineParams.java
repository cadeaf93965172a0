package dev.parley.gpu.pipeline;

import java.lang.reflect.InvocationTargetException;
import java.util.Locale;

/**
 * Every tunable of the diarization pipeline in one typed place, with defaults ({@link #defaults()}).
 * Durations are in seconds. Stages read their own nested record and nothing else.
 */
public record PipelineParams(Vad vad, Embedding embedding, Clustering clustering, Segmentation segmentation) {

  public static PipelineParams defaults() {
    return new PipelineParams(Vad.defaults(), Embedding.defaults(), Clustering.defaults(), Segmentation.defaults());
  }

  /**
   * A copy with one value replaced, named {@code section.name} as in this record (for example
   * {@code clustering.threshold=0.6}); for experiments from the command line.
   *
   * @throws IllegalArgumentException for an unknown name or a value of the wrong type
   */
  public PipelineParams with(String assignment) {
    int eq = assignment.indexOf('=');
    int dot = assignment.indexOf('.');
    if (eq < 0 || dot < 0 || dot > eq) throw new IllegalArgumentException("expected section.name=value, got " + assignment);
    String section = assignment.substring(0, dot);
    String name = assignment.substring(dot + 1, eq);
    String value = assignment.substring(eq + 1).trim();
    try {
      Object[] parts = {vad, embedding, clustering, segmentation};
      var comps = PipelineParams.class.getRecordComponents();
      for (int i = 0; i < comps.length; i++) {
        if (!comps[i].getName().equals(section)) continue;
        parts[i] = replace(parts[i], name, value);
        return new PipelineParams((Vad) parts[0], (Embedding) parts[1], (Clustering) parts[2], (Segmentation) parts[3]);
      }
    } catch (InvocationTargetException e) {
      if (e.getCause() instanceof IllegalArgumentException bad) throw bad; // a value out of its range
      throw new IllegalArgumentException("cannot set " + assignment + ": " + e.getCause(), e);
    } catch (ReflectiveOperationException e) {
      throw new IllegalArgumentException("cannot set " + assignment + ": " + e.getMessage(), e);
    }
    throw new IllegalArgumentException("unknown parameter section: " + section);
  }

  private static Object replace(Object rec, String name, String value) throws ReflectiveOperationException {
    var comps = rec.getClass().getRecordComponents();
    Object[] args = new Object[comps.length];
    Class<?>[] types = new Class<?>[comps.length];
    boolean found = false;
    for (int i = 0; i < comps.length; i++) {
      types[i] = comps[i].getType();
      args[i] = comps[i].getAccessor().invoke(rec);
      if (comps[i].getName().equals(name)) {
        found = true;
        try {
          if (types[i] == double.class) args[i] = Double.parseDouble(value);
          else if (types[i] == int.class) args[i] = Integer.parseInt(value);
          else if (types[i] == boolean.class) args[i] = Boolean.parseBoolean(value);
          else args[i] = value;
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("not a number for " + name + ": " + value);
        }
      }
    }
    if (!found) throw new IllegalArgumentException("unknown parameter: " + rec.getClass().getSimpleName().toLowerCase(Locale.ROOT) + "." + name);
    return rec.getClass().getDeclaredConstructor(types).newInstance(args);
  }

  /**
   * Voice activity detection.
   *
   * @param energyOnset energy VAD: a speech run starts where the frame's position between the
   *     local noise floor and speech peak (0..1) exceeds this
   * @param energyOffset energy VAD: a speech run ends where it drops below this
   * @param energyFloorPercentile percentile of frame energies taken as the local noise floor
   * @param energyPeakPercentile percentile of frame energies taken as the local speech level
   * @param energyMinRangeDb the speech level is at least this far above the floor, so that
   *     silence-only or noise-only audio does not stretch its own noise into "speech"
   * @param energyWindowSeconds length of the sliding window the floor and peak are taken over
   * @param energyAbsoluteFloorDb frames quieter than this (dBFS) are never speech
   * @param energyVoicedThreshold energy VAD: a frame is voiced when its normalised
   *     autocorrelation at some pitch lag (50–400 Hz) reaches this
   * @param energyMinVoicedFraction energy VAD: speech runs with a smaller share of voiced frames
   *     are dropped as noise (0 = off)
   * @param neuralOnset Parley's own VAD ({@code parley-vad}): speech probability that starts a run
   * @param neuralOffset Parley's own VAD: probability below which a run ends
   * @param neuralVoicedThreshold Parley's own VAD: a frame is voiced when its normalised
   *     autocorrelation at some pitch lag reaches this (the energy VAD's test)
   * @param neuralMinVoicedFraction Parley's own VAD: speech runs with a smaller share of voiced
   *     frames are dropped; the network calls some hiss and clicks speech, which have no pitch
   *     (0 = off)
   * @param sileroOnset Silero VAD: speech probability that starts a run (lower than Silero's own
   *     0.5: on distant meeting audio it scores quiet talkers low while non-speech stays near 0)
   * @param sileroOffset Silero VAD: probability below which a run ends (a wide hysteresis keeps
   *     quiet stretches of a turn)
   * @param sileroStreams Silero VAD: a recording is cut into up to this many parts, shared out
   *     over the threads (each part at least eight warm-ups long)
   * @param sileroWarmupSeconds audio each part re-reads before its start so its state is warm
   * @param minSpeechSeconds shorter speech runs are dropped
   * @param minSilenceSeconds shorter pauses inside speech are filled
   * @param padSeconds each speech run is widened by this on both sides for the speaker embeddings
   *     and their labels (context)
   * @param neuralTurnPadSeconds parley-vad: each speech run is widened by this in the reported turns
   *     (none: it was trained on word-level boundaries and places them where the speech is)
   * @param sileroTurnPadSeconds Silero VAD: the same (its runs start late and end early on distant
   *     speech)
   * @param energyTurnPadSeconds energy VAD: the same
   */
  public record Vad(
      double energyOnset,
      double energyOffset,
      double energyFloorPercentile,
      double energyPeakPercentile,
      double energyMinRangeDb,
      double energyWindowSeconds,
      double energyAbsoluteFloorDb,
      double energyVoicedThreshold,
      double energyMinVoicedFraction,
      double neuralOnset,
      double neuralOffset,
      double neuralVoicedThreshold,
      double neuralMinVoicedFraction,
      double sileroOnset,
      double sileroOffset,
      int sileroStreams,
      double sileroWarmupSeconds,
      double minSpeechSeconds,
      double minSilenceSeconds,
      double padSeconds,
      double neuralTurnPadSeconds,
      double sileroTurnPadSeconds,
      double energyTurnPadSeconds) {
    public Vad {
      between("vad.energyOnset", energyOnset, 0, 1);
      between("vad.energyOffset", energyOffset, 0, 1);
      between("vad.energyFloorPercentile", energyFloorPercentile, 0, 100);
      between("vad.energyPeakPercentile", energyPeakPercentile, 0, 100);
      atLeast("vad.energyMinRangeDb", energyMinRangeDb, 0);
      above("vad.energyWindowSeconds", energyWindowSeconds, 0);
      between("vad.energyAbsoluteFloorDb", energyAbsoluteFloorDb, -200, 0);
      between("vad.energyVoicedThreshold", energyVoicedThreshold, 0, 1);
      between("vad.energyMinVoicedFraction", energyMinVoicedFraction, 0, 1);
      between("vad.neuralOnset", neuralOnset, 0, 1);
      between("vad.neuralOffset", neuralOffset, 0, 1);
      between("vad.neuralVoicedThreshold", neuralVoicedThreshold, 0, 1);
      between("vad.neuralMinVoicedFraction", neuralMinVoicedFraction, 0, 1);
      between("vad.sileroOnset", sileroOnset, 0, 1);
      between("vad.sileroOffset", sileroOffset, 0, 1);
      atLeast("vad.sileroStreams", sileroStreams, 1);
      atLeast("vad.sileroWarmupSeconds", sileroWarmupSeconds, 0);
      atLeast("vad.minSpeechSeconds", minSpeechSeconds, 0);
      atLeast("vad.minSilenceSeconds", minSilenceSeconds, 0);
      atLeast("vad.padSeconds", padSeconds, 0);
      atLeast("vad.neuralTurnPadSeconds", neuralTurnPadSeconds, 0);
      atLeast("vad.sileroTurnPadSeconds", sileroTurnPadSeconds, 0);
      atLeast("vad.energyTurnPadSeconds", energyTurnPadSeconds, 0);
    }

    public static Vad defaults() {
      return new Vad(
          /* energyOnset */ 0.55,
          /* energyOffset */ 0.4,
          /* energyFloorPercentile */ 5,
          /* energyPeakPercentile */ 99,
          /* energyMinRangeDb */ 25,
          /* energyWindowSeconds */ 30,
          /* energyAbsoluteFloorDb */ -80,
          /* energyVoicedThreshold */ 0.6,
          /* energyMinVoicedFraction */ 0.3,
          /* neuralOnset */ 0.5,
          /* neuralOffset */ 0.3,
          /* neuralVoicedThreshold */ 0.5,
          /* neuralMinVoicedFraction */ 0.2,
          /* sileroOnset */ 0.3,
          /* sileroOffset */ 0.1,
          /* sileroStreams */ 64,
          /* sileroWarmupSeconds */ 1.0,
          /* minSpeechSeconds */ 0.25,
          /* minSilenceSeconds */ 0.5,
          /* padSeconds */ 0.1,
          /* neuralTurnPadSeconds */ 0,
          /* sileroTurnPadSeconds */ 0.1,
          /* energyTurnPadSeconds */ 0.1);
    }
  }

  /**
   * Speaker embedding extraction.
   *
   * @param windowSeconds length of each embedded window
   * @param hopSeconds step between windows inside a speech run
   * @param minSpeechSeconds speech runs shorter than this are not embedded on their own (they
   *     take the label of their neighbours)
   * @param batchSize windows per forward pass
   * @param blockSeconds features are computed and embedded per block of about this much audio,
   *     so memory stays flat however long the recording is
   */
  public record Embedding(double windowSeconds, double hopSeconds, double minSpeechSeconds, int batchSize, double blockSeconds) {
    public Embedding {
      between("embedding.windowSeconds", windowSeconds, 0.1, 60);
      between("embedding.hopSeconds", hopSeconds, 0.01, windowSeconds);
      atLeast("embedding.minSpeechSeconds", minSpeechSeconds, 0);
      between("embedding.batchSize", batchSize, 1, 4096);
      between("embedding.blockSeconds", blockSeconds, windowSeconds, 3600);
    }

    public static Embedding defaults() {
      return new Embedding(
          /* windowSeconds */ 1.5,
          /* hopSeconds */ 0.75,
          /* minSpeechSeconds */ 0.3,
          /* batchSize */ 32,
          /* blockSeconds */ 120);
    }
  }

  /**
   * Clustering of window embeddings into speakers.
   *
   * @param method {@code auto} (default), {@code ahc} or {@code spectral}. {@code ahc}:
   *     average-linkage agglomerative clustering cut at {@code threshold}, or at the requested
   *     count. {@code spectral}: {@code ahc} decides one speaker or more; if more, spectral clustering
   *     on the pruned affinity finds the count from its largest eigengap, and the groups (also for a
   *     requested count). {@code auto}: {@code ahc}, except that when it finds {@code spectralFrom}
   *     speakers or more by itself, spectral clustering counts and groups them. A threshold
   *     over-splits many talkers (simulated meetings: 5–9 for 4) and spectral clustering counts them
   *     better; but it splits dominant talkers of distant meeting audio when {@code ahc} finds two,
   *     and given AMI's true counts it groups far worse than the dendrogram (docs/BENCHMARKS.md)
   * @param threshold average-linkage cosine similarity below which agglomerative clustering stops
   *     merging (used when the count is unknown). The default (0.2) is conservative for the
   *     committed model: on meeting speakers it has never heard, windows of one talker drift apart
   *     over time (within-file EER ~41%), and splitting a dominant talker costs far more than
   *     missing a minor one; 0.25–0.5 separates speakers the model was trained on
   * @param maxSpeakers upper bound on the number of speakers when the caller gives none
   * @param minClusterSeconds clusters with less speech than this are merged into their nearest
   *     larger cluster (short noisy windows do not become speakers of their own)
   * @param centroidThreshold after the dendrogram cut, clusters whose (weighted, L2-normalised)
   *     centroids are more similar than this are merged, most similar first; centroids average
   *     the window noise away, so this judges large clusters better than the average pairwise
   *     similarity does (above 1 = off)
   * @param pruneFraction {@code spectral}: each window keeps this share of its most similar
   *     windows as graph neighbours (at least 3)
   * @param spectralFrom {@code auto}: spectral clustering takes over from agglomerative
   *     clustering when the latter finds at least this many speakers without being told the count
   * @param maxItems longer recordings are clustered as at most this many items, each the average of
   *     a run of consecutive windows, so time and memory stay bounded (agglomerative clustering
   *     keeps an items × items similarity matrix)
   */
  public record Clustering(String method, double threshold, int maxSpeakers, double minClusterSeconds,
      double centroidThreshold, double pruneFraction, int spectralFrom, int maxItems) {
    public Clustering {
      if (!method.equals("auto") && !method.equals("ahc") && !method.equals("spectral"))
        throw new IllegalArgumentException("clustering.method must be auto, ahc or spectral, not " + method);
      between("clustering.threshold", threshold, -1, 1);
      between("clustering.maxSpeakers", maxSpeakers, 1, 1000);
      atLeast("clustering.minClusterSeconds", minClusterSeconds, 0);
      atLeast("clustering.centroidThreshold", centroidThreshold, -1);
      between("clustering.pruneFraction", pruneFraction, 0, 1);
      between("clustering.spectralFrom", spectralFrom, 2, 1000);
      atLeast("clustering.maxItems", maxItems, 1);
    }

    public static Clustering defaults() {
      return new Clustering(
          /* method */ "auto",
          /* threshold */ 0.2,
          /* maxSpeakers */ 20,
          /* minClusterSeconds */ 2.0,
          /* centroidThreshold */ 2.0,
          /* pruneFraction */ 0.2,
          /* spectralFrom */ 3,
          /* maxItems */ 4000);
    }
  }

  /**
   * Turning clustered windows into speaker turns at 10 ms resolution.
   *
   * @param minTurnSeconds shorter turns inside speech are given to the neighbouring speaker that
   *     scores best over them
   * @param minAudioSeconds recordings shorter than this are rejected as too short to diarize
   * @param changeOverlapSeconds where one speaker's turn directly follows another's, both turns
   *     are extended this far across the change, so the two overlap there (people talk over each
   *     other most at turn changes); 0 = none added at turn changes
   * @param switchPenalty cost of a change of speaker in the Viterbi resegmentation, in units of
   *     (cosine similarity × 10 ms frames): 10 means a turn of 1 s must fit its speaker 0.1 better
   *     on average than its neighbours' speaker to stand; 0 = each frame's best speaker
   * @param overlapOnset probability of two or more talkers ({@code parley-osd}) above which a
   *     second speaker is added; above 1 = no overlap detection. High (0.9) because the detector
   *     still calls some single reverberant speech overlap: on simulated meetings without overlap,
   *     0.5 adds 2.4 points of false alarm in clean rooms and 5.8 in reverberant ones, 0.9 adds 0.2
   *     and 0.4; lower onsets find more real overlap but cost more than they recover outside AMI
   *     (docs/BENCHMARKS.md)
   * @param overlapOffset probability below which an overlap ends
   * @param minOverlapSeconds shorter overlaps are ignored
   * @param overlapMinSilenceSeconds shorter gaps between two overlaps are filled
   * @param overlapPadSeconds each overlap is widened by this on both sides
   */
  public record Segmentation(double minTurnSeconds, double minAudioSeconds, double changeOverlapSeconds,
      double switchPenalty, double overlapOnset, double overlapOffset, double minOverlapSeconds,
      double overlapMinSilenceSeconds, double overlapPadSeconds) {
    public Segmentation {
      atLeast("segmentation.minTurnSeconds", minTurnSeconds, 0);
      atLeast("segmentation.minAudioSeconds", minAudioSeconds, 0);
      atLeast("segmentation.changeOverlapSeconds", changeOverlapSeconds, 0);
      atLeast("segmentation.switchPenalty", switchPenalty, 0);
      atLeast("segmentation.overlapOnset", overlapOnset, 0);
      between("segmentation.overlapOffset", overlapOffset, 0, 1);
      atLeast("segmentation.minOverlapSeconds", minOverlapSeconds, 0);
      atLeast("segmentation.overlapMinSilenceSeconds", overlapMinSilenceSeconds, 0);
      atLeast("segmentation.overlapPadSeconds", overlapPadSeconds, 0);
    }

    public static Segmentation defaults() {
      return new Segmentation(
          /* minTurnSeconds */ 0.3,
          /* minAudioSeconds */ 1.0,
          /* changeOverlapSeconds */ 0.0,
          /* switchPenalty */ 0.0,
          /* overlapOnset */ 0.9,
          /* overlapOffset */ 0.7,
          /* minOverlapSeconds */ 0.1,
          /* overlapMinSilenceSeconds */ 0.1,
          /* overlapPadSeconds */ 0.0);
    }
  }

  private static void between(String name, double v, double min, double max) {
    if (!(v >= min && v <= max)) { // also refuses NaN
      throw new IllegalArgumentException(name + " must be between " + plain(min) + " and " + plain(max) + ", not " + plain(v));
    }
  }

  private static void atLeast(String name, double v, double min) {
    if (!(v >= min) || Double.isInfinite(v)) throw new IllegalArgumentException(name + " must be at least " + plain(min) + ", not " + plain(v));
  }

  private static void above(String name, double v, double min) {
    if (!(v > min) || Double.isInfinite(v)) throw new IllegalArgumentException(name + " must be above " + plain(min) + ", not " + plain(v));
  }

  private static String plain(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.valueOf((long) v) : String.valueOf(v);
  }
}
