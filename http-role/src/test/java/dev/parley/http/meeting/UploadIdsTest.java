package dev.parley.http.meeting;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.parley.http.web.ApiException;
import java.util.UUID;
import org.junit.jupiter.api.Test;

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
}
