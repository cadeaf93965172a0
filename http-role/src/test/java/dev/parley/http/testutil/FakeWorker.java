package dev.parley.http.testutil;

import dev.parley.http.meeting.AudioProbe;
import dev.parley.protocol.DiarizationResult;
import dev.parley.protocol.Segment;
import dev.parley.protocol.SpeakerSummary;
import dev.parley.protocol.Timing;
import dev.parley.protocol.blob.BlobStore;
import dev.parley.protocol.worker.InferenceProtocol.JobAccepted;
import dev.parley.protocol.worker.InferenceProtocol.JobCompleted;
import dev.parley.protocol.worker.InferenceProtocol.JobFailed;
import dev.parley.protocol.worker.InferenceProtocol.JobProgress;
import dev.parley.protocol.worker.InferenceProtocol.JobUpdate;
import dev.parley.protocol.worker.InferenceProtocol.RunJob;
import dev.parley.protocol.worker.InferenceProtocol.WorkerCommand;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * A stand-in for the gpu worker entity that answers at once: it reads the blob's header and
 * "diarizes" a WAV into two halves spoken by two speakers, or fails non-retryably for a blob that
 * starts with {@code NOTAUDIO} and retryably (every attempt) for one that starts with {@code
 * FLAKYFLA}. Repeats of an attempt get the same answer again (idempotent).
 */
public final class FakeWorker {
  public interface Factory {
    Behavior<WorkerCommand> create(String attemptId, BlobStore blobs);
  }

  /** Every RunJob any fake worker received, in order. */
  public final ConcurrentLinkedQueue<RunJob> runs = new ConcurrentLinkedQueue<>();

  public Factory factory() {
    return (attemptId, blobs) -> Behaviors.setup(ctx -> {
      JobUpdate[] outcome = new JobUpdate[1];
      return Behaviors.receive(WorkerCommand.class)
          .onMessage(RunJob.class, run -> {
            runs.add(run);
            run.replyTo().tell(new JobAccepted(run.meetingId(), run.attemptId(), "fake-gpu"));
            if (outcome[0] == null) {
              run.replyTo().tell(new JobProgress(run.meetingId(), run.attemptId(), "embedding", 0.5, "fake-gpu"));
              outcome[0] = diarize(run, blobs);
            }
            run.replyTo().tell(outcome[0]);
            return Behaviors.same();
          })
          .build();
    });
  }

  static JobUpdate diarize(RunJob run, BlobStore blobs) {
    try (InputStream in = blobs.open(run.audioKey())) {
      long size = blobs.size(run.audioKey());
      byte[] head = in.readNBytes(AudioProbe.HEAD_BYTES);
      if (new String(head, 0, Math.min(8, head.length), StandardCharsets.US_ASCII).equals("NOTAUDIO")) {
        return new JobFailed(run.meetingId(), run.attemptId(), "not decodable audio: no audio stream found", false, "fake-gpu");
      }
      if (new String(head, 0, Math.min(8, head.length), StandardCharsets.US_ASCII).equals("FLAKYFLA")) {
        return new JobFailed(run.meetingId(), run.attemptId(), "the blob store timed out", true, "fake-gpu");
      }
      Double d = AudioProbe.wavDurationSeconds(head, size);
      double dur = d == null ? size / 32000.0 : d;
      double half = Math.round(dur * 50) / 100.0;
      List<Segment> segments = List.of(new Segment(0.0, half, "SPEAKER_00"), new Segment(half, dur, "SPEAKER_01"));
      List<SpeakerSummary> speakers = List.of(new SpeakerSummary("SPEAKER_00", half, new float[] {1f, 0f}),
          new SpeakerSummary("SPEAKER_01", dur - half, new float[] {0f, 1f}));
      DiarizationResult r = new DiarizationResult(segments, speakers, Map.of("embedding", "fake-1"),
          new Timing(dur, 0.02, 0.02 / Math.max(dur, 0.001), "cpu"));
      return new JobCompleted(run.meetingId(), run.attemptId(), r, "fake-gpu");
    } catch (Exception e) {
      return new JobFailed(run.meetingId(), run.attemptId(), "fake worker cannot read audio: " + e, true, "fake-gpu");
    }
  }
}
