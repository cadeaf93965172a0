package dev.parley.gpu.eval;

/** One speaker turn of an RTTM file: seconds from the start of the recording. */
public record Turn(String file, double start, double end, String speaker) {
  public Turn {
    if (!(end >= start)) throw new IllegalArgumentException("turn ends before it starts: " + start + " > " + end);
  }

  public double duration() {
    return end - start;
  }
}
