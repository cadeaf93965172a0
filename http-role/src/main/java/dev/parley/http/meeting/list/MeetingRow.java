package dev.parley.http.meeting.list;

/**
 * One row of a user's meeting list (times in epoch milliseconds). {@code error} and {@code
 * errorRetryable} are a failed meeting's {@link dev.parley.http.meeting.Meeting.Failed} reason and
 * flag (null otherwise).
 */
public record MeetingRow(
    String id,
    String ownerId,
    String title,
    String status,
    double progress,
    long createdAt,
    long updatedAt,
    Double durationSeconds,
    Long sizeBytes,
    String contentType,
    Integer speakers,
    String error,
    Boolean errorRetryable) {}
