package dev.parley.http.meeting;

import dev.parley.http.meeting.list.MeetingListRepository;
import dev.parley.http.meeting.list.MeetingRow;
import dev.parley.protocol.DiarizationOptions;
import dev.parley.protocol.DiarizationResult;
import dev.parley.protocol.Segment;
import dev.parley.protocol.SpeakerSummary;
import dev.parley.protocol.worker.InferenceProtocol;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;

/** The JSON shapes of the meeting routes. */
public final class MeetingViews {
  private MeetingViews() {}

  public record Accepted(String id, String status) {}

  public record AudioView(long size, String sha256, String contentType, String fileName) {}

  public record SegmentView(double start, double end, String speaker) {}

  public record SpeakerView(String label, double talkTime) {}

  public record Processing(Integer attempts, String node, Double gpuSeconds, Double audioSeconds,
      Double realTimeFactor, String device, Map<String, Double> stageSeconds, Map<String, String> models) {}

  public record ErrorView(String reason, boolean retryable) {}

  public record MeetingView(
      String id,
      String title,
      String status,
      double progress,
      String stage,
      Instant createdAt,
      Double duration,
      AudioView audio,
      DiarizationOptions options,
      List<SegmentView> segments,
      List<SpeakerView> speakers,
      Processing processing,
      List<String> warnings,
      String retryReason,
      Instant retryAt,
      ErrorView error) {}

  public static MeetingView of(Meeting.State s) {
    DiarizationResult r = s.result();
    List<SegmentView> segments = r == null ? List.of()
        : r.segments().stream().map((Segment g) -> new SegmentView(round(g.start()), round(g.end()), g.speaker())).toList();
    List<SpeakerView> speakers = r == null ? List.of()
        : r.speakers().stream().map((SpeakerSummary p) -> new SpeakerView(p.label(), round(p.talkTime()))).toList();
    Processing processing = new Processing(
        s.attempt(),
        s.node(),
        r == null || r.timing() == null ? null : r.timing().processingSeconds(),
        r == null || r.timing() == null ? null : r.timing().audioSeconds(),
        r == null || r.timing() == null ? null : r.timing().realTimeFactor(),
        r == null || r.timing() == null ? null : r.timing().device(),
        r == null || r.timing() == null ? null : r.timing().stageSeconds(),
        r == null ? null : r.models());
    Meeting.Audio a = s.audio();
    return new MeetingView(
        s.meetingId(),
        s.title(),
        s.apiStatus(),
        s.progress(),
        // a queued meeting's stage is "queued" whether or not a gpu node holds it yet (QA: a retry read null)
        s.stage() == null && s.status() == Meeting.Status.QUEUED ? InferenceProtocol.STAGE_WAITING : s.stage(),
        s.createdAt().truncatedTo(ChronoUnit.MILLIS), // as the list has it
        s.durationSeconds(),
        a == null ? null : new AudioView(a.size(), a.sha256(), a.contentType(), a.fileName()),
        s.options(),
        segments,
        speakers,
        processing,
        r == null ? List.of() : r.warnings(),
        s.retryReason(),
        // when a retry after a worker's failure is sent; null once it is (or when it went at once)
        s.status() == Meeting.Status.QUEUED && s.retryAt() != null && s.retryAt().isAfter(Instant.now())
            ? s.retryAt().truncatedTo(ChronoUnit.MILLIS) : null,
        s.failure() == null ? null : new ErrorView(s.failure().reason(), s.failure().retryable()));
  }

  /**
   * One meeting of {@code GET /meetings}. A name means what it means in {@link MeetingView}:
   * {@code speakerCount} is the number of speakers (the view's {@code speakers} is the list of
   * them) and {@code error} the same {@code {reason, retryable}}, null unless failed.
   */
  public record ListItem(String id, String title, String status, double progress, Instant createdAt,
      Instant updatedAt, Double duration, Long size, String contentType, Integer speakerCount, ErrorView error) {}

  public record ListPage(List<ListItem> items, String nextCursor) {}

  public static ListPage of(MeetingListRepository.Page p) {
    return new ListPage(p.items().stream().map(MeetingViews::item).toList(), p.nextCursor());
  }

  static ListItem item(MeetingRow r) {
    return new ListItem(r.id(), r.title(), r.status(), r.progress(), Instant.ofEpochMilli(r.createdAt()),
        Instant.ofEpochMilli(r.updatedAt()), r.durationSeconds(), r.sizeBytes(), r.contentType(), r.speakers(),
        Meeting.Status.FAILED.api().equals(r.status())
            ? new ErrorView(r.error(), r.errorRetryable() != null ? r.errorRetryable() : Meeting.gaveUp(r.error())) : null);
  }

  private static double round(double seconds) {
    return Math.round(seconds * 1000.0) / 1000.0;
  }
}
