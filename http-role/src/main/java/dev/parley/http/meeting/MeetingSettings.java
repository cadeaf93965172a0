package dev.parley.http.meeting;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * Typed settings of the Meeting entity ({@code parley.meeting}).
 *
 * @param eraseDeletedAfter how long a deleted meeting's events stay before they are erased; null: for ever
 * @param retryBackoff how long a meeting waits before its second attempt when a worker reported a
 *     failure it may not have next time (the audio could not be read: the database away); each
 *     later attempt waits three times longer ({@link #backoffBefore}). A lost node is retried at once
 */
public record MeetingSettings(
    Duration resendInterval,
    Duration heartbeatTimeout,
    int maxAttempts,
    Duration passivateAfter,
    double progressStep,
    int numberOfShards,
    Duration eraseDeletedAfter,
    Duration retryBackoff) {

  public MeetingSettings {
    if (numberOfShards < 1) throw new IllegalArgumentException("parley.meeting.number-of-shards must be >= 1");
    if (maxAttempts < 1) throw new IllegalArgumentException("parley.meeting.max-attempts must be >= 1");
    if (resendInterval.isNegative() || resendInterval.isZero())
      throw new IllegalArgumentException("parley.meeting.resend-interval must be positive");
    if (heartbeatTimeout.isNegative() || heartbeatTimeout.isZero())
      throw new IllegalArgumentException("parley.meeting.heartbeat-timeout must be positive");
    if (retryBackoff.isNegative()) throw new IllegalArgumentException("parley.meeting.retry-backoff must not be negative");
    if (eraseDeletedAfter != null && eraseDeletedAfter.isNegative())
      throw new IllegalArgumentException("parley.meeting.erase-deleted-after must be a duration or off");
  }

  public static MeetingSettings fromConfig(Config parley) {
    Config m = parley.getConfig("meeting");
    return new MeetingSettings(
        m.getDuration("resend-interval"),
        m.getDuration("heartbeat-timeout"),
        m.getInt("max-attempts"),
        m.getDuration("passivate-after"),
        m.getDouble("progress-step"),
        m.getInt("number-of-shards"),
        "off".equals(m.getString("erase-deleted-after")) ? null : m.getDuration("erase-deleted-after"),
        m.getDuration("retry-backoff"));
  }

  /** How long attempt {@code attempt} (2 or more) waits after a worker's failure: 1, 3, 9, 27 × retry-backoff. */
  public Duration backoffBefore(int attempt) {
    return retryBackoff.multipliedBy((long) Math.pow(3, Math.min(10, Math.max(0, attempt - 2))));
  }
}
