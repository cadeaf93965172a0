package dev.parley.protocol;

/**
 * What the caller tells the pipeline about the number of speakers. All fields are optional
 * ({@code null} = unknown). {@code numSpeakers} wins over the min/max bounds.
 *
 * <p>The record takes any values: it crosses the wire and lives in the journal, where a rule in its
 * constructor would make a message from a node with another rule undeliverable, and a meeting
 * journaled under a looser rule unreadable. Requests are checked where they come in ({@link #problem()}).
 */
public record DiarizationOptions(Integer numSpeakers, Integer minSpeakers, Integer maxSpeakers)
    implements CborSerializable {

  public static final DiarizationOptions NONE = new DiarizationOptions(null, null, null);

  /** The most speakers a request may name (the API and the command line check it). */
  public static final int MAX_SPEAKERS = 1000;

  /** Why a request with these options is refused, or {@code null} when it is fine. */
  public String problem() {
    if (numSpeakers != null && numSpeakers < 1) return "numSpeakers must be >= 1";
    if (minSpeakers != null && minSpeakers < 1) return "minSpeakers must be >= 1";
    if (maxSpeakers != null && maxSpeakers < 1) return "maxSpeakers must be >= 1";
    if (minSpeakers != null && maxSpeakers != null && minSpeakers > maxSpeakers) {
      return "minSpeakers must not exceed maxSpeakers";
    }
    if (countOutsideBounds()) return "numSpeakers must lie between minSpeakers and maxSpeakers when they are given";
    return null;
  }

  /** Whether {@code numSpeakers} falls outside the bounds given with it. */
  public boolean countOutsideBounds() {
    return numSpeakers != null
        && ((minSpeakers != null && numSpeakers < minSpeakers) || (maxSpeakers != null && numSpeakers > maxSpeakers));
  }
}
