package dev.parley.gpu.worker;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Orders a worker's accepting a job against the idle watcher's leaving, which otherwise learn of
 * each other only through messages that can cross (a review: a job accepted in the moment the
 * watcher decided to leave went with the node, and its meeting waited out a heartbeat timeout).
 * Each side writes first and reads the other's mark second, so of the two, at least one sees the
 * other: a worker counts the job, then checks the gate; the watcher closes the gate, then checks the
 * count, and opens it again when a job came.
 */
public final class LeaveGate {
  private final AtomicLong admitted = new AtomicLong();
  private final AtomicBoolean closed = new AtomicBoolean();

  /** A worker's question before it accepts a job: the job is counted, and may be taken unless the node leaves. */
  public boolean admit() {
    admitted.incrementAndGet();
    return !closed.get();
  }

  /** How many jobs were admitted so far: the idle watcher's mark when an idle period begins. */
  public long admitted() {
    return admitted.get();
  }

  /** The idle watcher's: closes the gate for good, unless a job was admitted since {@code mark}. */
  public boolean close(long mark) {
    closed.set(true);
    if (admitted.get() != mark) {
      closed.set(false);
      return false;
    }
    return true;
  }
}
