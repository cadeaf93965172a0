package dev.parley.protocol;

/** One speaker turn: seconds from the start of the recording, 10 ms resolution. */
public record Segment(double start, double end, String speaker) implements CborSerializable {
  public double duration() {
    return end - start;
  }
}
