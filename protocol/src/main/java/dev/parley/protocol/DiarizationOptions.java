package dev.parley.protocol;

/**
 * What the caller tells the pipeline about the number of speakers. All fields are optional
 * ({@code null} = unknown). {@code numSpeakers} wins over the min/max bounds.
 */
public record DiarizationOptions(Integer numSpeakers, Integer minSpeakers, Integer maxSpeakers)
    implements CborSerializable {

  public static final DiarizationOptions NONE = new DiarizationOptions(null, null, null);

  public DiarizationOptions {
    if (numSpeakers != null && numSpeakers < 1) throw new IllegalArgumentException("numSpeakers must be >= 1");
    if (minSpeakers != null && minSpeakers < 1) throw new IllegalArgumentException("minSpeakers must be >= 1");
    if (maxSpeakers != null && maxSpeakers < 1) throw new IllegalArgumentException("maxSpeakers must be >= 1");
    if (minSpeakers != null && maxSpeakers != null && minSpeakers > maxSpeakers)
      throw new IllegalArgumentException("minSpeakers must not exceed maxSpeakers");
  }

  /**
   * Whether {@code numSpeakers} falls outside the bounds given with it: callers refuse such a
   * request (the constructor accepts it, so meetings journaled with one still replay).
   */
  public boolean countOutsideBounds() {
    return numSpeakers != null
        && ((minSpeakers != null && numSpeakers < minSpeakers) || (maxSpeakers != null && numSpeakers > maxSpeakers));
  }
}
