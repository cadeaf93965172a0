package dev.parley.http.meeting;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.parley.http.web.ApiException;
import dev.parley.protocol.WireProtocol;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.util.Version;
import org.junit.jupiter.api.Test;
import scala.jdk.javaapi.CollectionConverters;

/** Every try of one keyed upload names one meeting, and a blob key of its own that still names it. */
class UploadIdsTest {
  @Test
  void aKeyNamesOneMeetingPerUserAndEachTryItsOwnBlob() {
    UploadIds.Target a = UploadIds.target("user-1", "k-1");
    UploadIds.Target b = UploadIds.target("user-1", "k-1");
    assertTrue(a.keyed());
    assertEquals(a.meetingId(), b.meetingId());
    assertNotEquals(a.blobKey(), b.blobKey());
    assertTrue(a.blobKey().matches(a.meetingId().replace("-", "\\-") + "\\.[0-9a-f]{16}"), a.blobKey());
    assertEquals(a.meetingId(), UploadIds.meetingIdOf(a.blobKey()));

    assertNotEquals(a.meetingId(), UploadIds.target("user-2", "k-1").meetingId());
    assertNotEquals(a.meetingId(), UploadIds.target("user-1", "k-2").meetingId());
    // the separator cannot be moved between user and key
    assertNotEquals(UploadIds.meetingId("u", "1x"), UploadIds.meetingId("u1", "x"));

    UUID id = UUID.fromString(a.meetingId());
    assertEquals(8, id.version());
    assertEquals(2, id.variant());
    assertEquals(id.toString(), a.meetingId());
    assertTrue(a.meetingId().matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"));
  }

  @Test
  void withoutAKeyTheIdIsRandomAndTheBlobKeyIsTheId() {
    UploadIds.Target t = UploadIds.target("user-1", null);
    assertFalse(t.keyed());
    assertEquals(t.meetingId(), t.blobKey());
    assertEquals(4, UUID.fromString(t.meetingId()).version());
    assertEquals(t.meetingId(), UploadIds.meetingIdOf(t.blobKey()));
    assertNotEquals(t.meetingId(), UploadIds.target("user-1", null).meetingId());
  }

  @Test
  void aKeyIsOneTo255VisibleAsciiCharacters() {
    UploadIds.check("a");
    UploadIds.check("!~".repeat(127) + "z");
    for (String bad : new String[] {"", " ", "a b", "a\tb", "caf\u00e9", "x".repeat(256), "a\nb"}) {
      ApiException e = assertThrows(ApiException.class, () -> UploadIds.check(bad), bad);
      assertEquals(400, e.status().intValue());
      assertEquals("invalid_idempotency_key", e.error());
    }
  }

  /** An http node of a release before keyed uploads holds them up; gpu nodes and newer releases do not. */
  @Test
  void anHttpMemberOfAnEarlierReleaseHoldsKeyedUploadsUp() {
    Member thisRelease = member(1, "http", WireProtocol.RELEASE);
    Member olderGpu = member(2, "gpu", "0.1.0-SNAPSHOT");
    Member newer = member(3, "http", "0.3.0");
    assertEquals(Optional.empty(), UploadIds.olderHttpRelease(List.of(thisRelease, olderGpu, newer)));
    Member olderHttp = member(4, "http", "0.1.0-SNAPSHOT");
    assertEquals(Optional.of(new Version("0.1.0-SNAPSHOT")),
        UploadIds.olderHttpRelease(List.of(thisRelease, olderHttp, olderGpu)));
    // a release before nodes announced theirs: Pekko's default
    assertTrue(UploadIds.olderHttpRelease(List.of(member(5, "http", "0.0.0"))).isPresent());
    // by number: Pekko's own order puts 0.2.0 before 0.2.0-SNAPSHOT, and cannot read 0.2.0-rc.1
    for (String same : List.of("0.2.0", "0.2.0-RC1", "0.2.0-SNAPSHOT", "0.2.0-rc.1", "0.2.1", "1.0.0")) {
      assertEquals(Optional.empty(), UploadIds.olderHttpRelease(List.of(member(6, "http", same))), same);
    }
    for (String older : List.of("0.1.9", "0.1.0-SNAPSHOT", "0.1", "not a release")) {
      assertTrue(UploadIds.olderHttpRelease(List.of(member(7, "http", older))).isPresent(), older);
    }
    assertEquals(Optional.empty(), UploadIds.olderHttpRelease(List.of(member(8, "http", WireProtocol.RELEASE))),
        "this build is " + WireProtocol.RELEASE);
  }

  private static Member member(int port, String role, String release) {
    return new Member(new UniqueAddress(new Address("pekko", "parley", "10.0.0.1", port), port),
        1, MemberStatus.up(), CollectionConverters.asScala(Set.of(role, "dc-default")).toSet(), new Version(release));
  }
}
