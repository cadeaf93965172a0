package dev.parley.http.meeting;

import dev.parley.http.web.ApiException;
import dev.parley.protocol.worker.InferenceProtocol;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Optional;
import java.util.UUID;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.util.Version;

/**
 * The meeting id and blob key of an upload. Without an {@code Idempotency-Key} (IETF
 * draft-ietf-httpapi-idempotency-key-header) the id is a random UUID and the blob key is the id.
 * With one, the id is derived from the user and the key, so every try of one upload, on any node,
 * reaches the same Meeting entity, which is created once; each try still stores its body under a
 * blob key of its own ({@code <id>.<16 hex digits>}), so removing a losing try's audio never
 * touches the audio of the meeting the winning try made.
 */
public final class UploadIds {
  public static final String IDEMPOTENCY_KEY = "Idempotency-Key";
  /** Answers an upload repeated with its Idempotency-Key, with the meeting the first try made. */
  public static final String REPLAYED = "Idempotent-Replayed";
  /**
   * The first release whose http nodes read keyed blob keys, its snapshots and candidates included;
   * an earlier one's orphan sweep takes them for the audio of meetings never created (README,
   * "Upgrades"). Compared by number only ({@link #release}).
   */
  public static final Version SINCE = new Version("0.2.0");
  static final int MAX_KEY_CHARS = 255;
  /** Names what the hash is of; a new derivation would take a new prefix, never this one. */
  private static final String NAMESPACE = "parley/upload/idempotency-key/v1\n";
  private static final SecureRandom RANDOM = new SecureRandom();

  /** Where an upload goes; {@code keyed}: an Idempotency-Key named the meeting. */
  public record Target(String meetingId, String blobKey, boolean keyed) {}

  private UploadIds() {}

  /**
   * The target of an upload by {@code userId} with {@code idempotencyKey} (null: none).
   *
   * @throws ApiException 400 for a key that is not 1 to 255 visible ASCII characters
   */
  public static Target target(String userId, String idempotencyKey) {
    if (idempotencyKey == null) {
      String id = UUID.randomUUID().toString();
      return new Target(id, id, false);
    }
    check(idempotencyKey);
    String id = meetingId(userId, idempotencyKey);
    return new Target(id, id + "." + HexFormat.of().formatHex(randomBytes(8)), true);
  }

  /** 400 unless {@code key} has 1 to {@link #MAX_KEY_CHARS} characters, each visible ASCII (no space). */
  static void check(String key) {
    boolean ok = !key.isEmpty() && key.length() <= MAX_KEY_CHARS && key.chars().allMatch(c -> c > 0x20 && c < 0x7f);
    if (!ok) {
      throw new ApiException(StatusCodes.BAD_REQUEST, "invalid_idempotency_key",
          IDEMPOTENCY_KEY + " must be 1 to " + MAX_KEY_CHARS + " visible ASCII characters (a UUID, say)");
    }
  }

  /**
   * The meeting id of {@code userId}'s uploads with {@code key}: a version 8 (RFC 9562) UUID made of
   * the SHA-256 of a fixed prefix, the user id and the key. The key cannot contain the separator, so
   * no other (user, key) pair hashes the same text, and two users' same key names two meetings.
   */
  static String meetingId(String userId, String key) {
    byte[] hash;
    try {
      hash = MessageDigest.getInstance("SHA-256")
          .digest((NAMESPACE + userId + "\n" + key).getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    hash[6] = (byte) ((hash[6] & 0x0f) | 0x80); // version 8
    hash[8] = (byte) ((hash[8] & 0x3f) | 0x80); // variant 10
    ByteBuffer b = ByteBuffer.wrap(hash);
    return new UUID(b.getLong(), b.getLong()).toString();
  }

  /**
   * The release of an http member older than {@link #SINCE}, if there is one: while it is a member,
   * keyed uploads wait (its orphan sweep would remove their audio).
   */
  public static Optional<Version> olderHttpRelease(Iterable<Member> members) {
    for (Member m : members) {
      if (m.hasRole(InferenceProtocol.HTTP_ROLE) && release(m.appVersion()).compareTo(SINCE) < 0) {
        return Optional.of(m.appVersion());
      }
    }
    return Optional.empty();
  }

  /**
   * The numbers of a release, without its qualifier: Pekko's {@link Version} sorts a qualifier by its
   * text, so 0.2.0 would come before 0.2.0-SNAPSHOT. Anything unreadable counts as the oldest release.
   */
  static Version release(Version appVersion) {
    try {
      return new Version(appVersion.version().split("[-+]", 2)[0]);
    } catch (RuntimeException e) {
      return new Version("0.0.0");
    }
  }

  /** The meeting a blob key belongs to: the part before its first dot, the whole key when it has none. */
  public static String meetingIdOf(String blobKey) {
    int dot = blobKey.indexOf('.');
    return dot < 0 ? blobKey : blobKey.substring(0, dot);
  }

  private static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    RANDOM.nextBytes(b);
    return b;
  }
}
