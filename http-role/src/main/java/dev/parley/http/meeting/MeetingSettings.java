package dev.parley.http.meeting;

import com.typesafe.config.Config;
import java.time.Duration;

/** Typed settings of the Meeting entity ({@code parley.meeting}). */
public record MeetingSettings(
    Duration resendInterval,
    Duration heartbeatTimeout,
    int maxAttempts,
    Duration passivateAfter,
    double progressStep,
    int numberOfShards) {

  public MeetingSettings {
    if (numberOfShards < 1) throw new IllegalArgumentException("parley.meeting.number-of-shards must be >= 1");
    if (maxAttempts < 1) throw new IllegalArgumentException("parley.meeting.max-attempts must be >= 1");
    if (resendInterval.isNegative() || resendInterval.isZero())
      throw new IllegalArgumentException("parley.meeting.resend-interval must be positive");
    if (heartbeatTimeout.isNegative() || heartbeatTimeout.isZero())
      throw new IllegalArgumentException("parley.meeting.heartbeat-timeout must be positive");
  }

  public static MeetingSettings fromConfig(Config parley) {
    Config m = parley.getConfig("meeting");
    return new MeetingSettings(
        m.getDuration("resend-interval"),
        m.getDuration("heartbeat-timeout"),
        m.getInt("max-attempts"),
        m.getDuration("passivate-after"),
        m.getDouble("progress-step"),
        m.getInt("number-of-shards"));
  }
}
