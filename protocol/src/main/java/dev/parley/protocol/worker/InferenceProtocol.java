package dev.parley.protocol.worker;

import dev.parley.protocol.CborSerializable;
import dev.parley.protocol.DiarizationOptions;
import dev.parley.protocol.DiarizationResult;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * The contract between a Meeting (http role) and the sharded gpu worker pool (gpu role).
 *
 * <p>A Meeting sends {@link RunJob} to the worker entity whose id is the attempt id, and re-sends
 * it until {@link JobAccepted} arrives (at-least-once). The worker reports {@link JobProgress}
 * (also a heartbeat) while it runs and ends with exactly one {@link JobCompleted} or {@link
 * JobFailed} for that attempt. The Meeting accepts one outcome (the first result of any attempt, a
 * failure only of its current attempt) and ignores the rest. For an attempt nobody waits for any
 * more (meeting deleted, attempt superseded, or another attempt delivered) it sends {@link
 * CancelJob} so the gpu node stops spending time on it.
 */
public final class InferenceProtocol {
  private InferenceProtocol() {}

  public static final String GPU_ROLE = "gpu";
  public static final String HTTP_ROLE = "http";

  /**
   * The stage a worker reports while the job it accepted waits for a free slot on its node; the
   * meeting reads as {@code queued} until another stage arrives.
   */
  public static final String STAGE_WAITING = "queued";

  /** Worker entities live only on gpu nodes; http nodes reach them through a sharding proxy. */
  public static final EntityTypeKey<WorkerCommand> WORKER =
      EntityTypeKey.create(WorkerCommand.class, "InferenceWorker");

  /**
   * The name under {@code /system} of the actor on every http node that a gpu node with no job for
   * its idle timeout asks how many meetings wait for a gpu, before it leaves: a node that leaves
   * while meetings queue only makes the scale signal ask for another one.
   */
  public static final String QUEUE_REPORTER = "parley-queue-reporter";

  public record QueueQuery(ActorRef<QueueLength> replyTo) implements CborSerializable {}

  /** {@code queued}: meetings waiting for a gpu, as the meeting list counts them. */
  public record QueueLength(long queued) implements CborSerializable {}

  /** Commands understood by an InferenceWorker entity. */
  public interface WorkerCommand extends CborSerializable {}

  /**
   * Run one attempt of a meeting's diarization. Idempotent per {@code attemptId}: a repeat of a
   * known attempt is answered with {@link JobAccepted} again and never starts a second run.
   */
  public record RunJob(
      String meetingId,
      String attemptId,
      int attempt,
      String audioKey,
      DiarizationOptions options,
      ActorRef<JobUpdate> replyTo)
      implements WorkerCommand {}

  /**
   * Stop an attempt nobody waits for any more (meeting deleted, attempt superseded, or another
   * attempt delivered): a waiting job is dropped, a running one is interrupted at its next progress
   * point, and the worker answers with a {@link JobFailed} that is not retryable. Best effort: a lost CancelJob only costs the run.
   */
  public record CancelJob(String meetingId, String attemptId, String reason) implements WorkerCommand {}

  /** Everything a worker tells a Meeting about an attempt. */
  public interface JobUpdate extends CborSerializable {
    String meetingId();

    String attemptId();
  }

  /** The worker has the job (running, or waiting for a free slot on its node). */
  public record JobAccepted(String meetingId, String attemptId, String node) implements JobUpdate {}

  /** Progress of a running attempt, 0..1, with the current stage; sent at least every few seconds. */
  public record JobProgress(String meetingId, String attemptId, String stage, double fraction, String node)
      implements JobUpdate {}

  /** The attempt finished with a result. */
  public record JobCompleted(String meetingId, String attemptId, DiarizationResult result, String node)
      implements JobUpdate {}

  /** The attempt failed; {@code retryable=false} means the input itself is bad (no retry loop). */
  public record JobFailed(String meetingId, String attemptId, String reason, boolean retryable, String node)
      implements JobUpdate {}
}
