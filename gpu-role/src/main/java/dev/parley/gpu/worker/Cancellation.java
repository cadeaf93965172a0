package dev.parley.gpu.worker;

/**
 * Cancels one running job from another thread. The job's thread {@link #enter enters} before it
 * starts and {@link #exit exits} when it returns; {@link #cancel} marks the job and interrupts its
 * thread only between the two, so an executor thread already on its next job is never hit. The
 * pipeline stops at its next progress report ({@link #check}) or interruptible wait; native
 * tensor work in between runs to its end.
 */
final class Cancellation {
  /** Thrown from a progress report of a cancelled job. */
  static final class Cancelled extends RuntimeException {
    Cancelled(String reason) {
      super(reason, null, false, false);
    }
  }

  private volatile String reason;
  private Thread thread;

  synchronized void enter() {
    thread = Thread.currentThread();
  }

  synchronized void exit() {
    thread = null;
    Thread.interrupted(); // an interrupt that arrived while the job returned is not the next job's
  }

  synchronized void cancel(String why) {
    if (reason != null) return;
    reason = why;
    if (thread != null) thread.interrupt();
  }

  boolean cancelled() {
    return reason != null;
  }

  String reason() {
    return reason;
  }

  void check() {
    String r = reason;
    if (r != null) throw new Cancelled(r);
  }
}
