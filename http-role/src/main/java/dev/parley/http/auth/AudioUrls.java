package dev.parley.http.auth;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Short-lived signed URLs of a meeting's audio, for an {@code <audio src>}, which cannot send an
 * Authorization header: {@code /meetings/{id}/audio?exp=<epoch seconds>&gen=<generation>&sig=<HMAC-SHA256>}
 * over the meeting id, the expiry and the owner's token generation ({@link TokenGenerations}), under
 * the JWT secret every http node shares (so any node serves it). Only the owner is given one; whoever
 * holds it may fetch that audio until it expires or its owner logs out or changes their password.
 */
public final class AudioUrls {
  /** A signed URL (path and query) and when it stops working. */
  public record Signed(String url, Instant expiresAt) {}

  private final SecretKeySpec key;
  private final Duration ttl;
  private final Clock clock;

  public AudioUrls(String secret, Duration ttl, Clock clock) {
    this.key = new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256");
    this.ttl = ttl;
    this.clock = clock;
  }

  public AudioUrls(String secret, Duration ttl) {
    this(secret, ttl, Clock.systemUTC());
  }

  /** A URL of the audio of {@code meetingId}, valid while its owner's token generation is {@code generation}. */
  public Signed sign(String meetingId, long generation) {
    Instant exp = clock.instant().plus(ttl).truncatedTo(ChronoUnit.SECONDS);
    return new Signed("/meetings/" + meetingId + "/audio?exp=" + exp.getEpochSecond() + "&gen=" + generation + "&sig="
        + signature(meetingId, exp.getEpochSecond(), generation), exp);
  }

  /**
   * Why {@code exp}, {@code gen} and {@code sig} do not open the audio of {@code meetingId}; empty
   * when they do, as far as the URL goes: the caller still checks {@code gen} against the owner's
   * current generation.
   */
  public Optional<String> problem(String meetingId, String exp, String gen, String sig) {
    long expiry;
    long generation;
    try {
      expiry = Long.parseLong(exp == null ? "" : exp);
      generation = Long.parseLong(gen == null ? "" : gen);
    } catch (NumberFormatException e) {
      return Optional.of("the audio URL has no valid exp or gen");
    }
    byte[] expected = signature(meetingId, expiry, generation).getBytes(StandardCharsets.US_ASCII);
    if (!MessageDigest.isEqual(expected, sig.getBytes(StandardCharsets.UTF_8))) {
      return Optional.of("the audio URL's signature is not valid");
    }
    if (clock.instant().getEpochSecond() >= expiry) return Optional.of("the audio URL has expired; ask for a new one");
    return Optional.empty();
  }

  private String signature(String meetingId, long exp, long generation) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      // ':' never occurs in a JWT's signing input, so no token signature doubles as a URL signature
      byte[] h = mac.doFinal(("audio:" + meetingId + ":" + exp + ":" + generation).getBytes(StandardCharsets.UTF_8));
      return Base64.getUrlEncoder().withoutPadding().encodeToString(h);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available", e);
    }
  }
}
