package dev.parley.http.meeting;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.parley.http.meeting.list.MeetingRow;
import org.junit.jupiter.api.Test;

/** A list item's error: the Failed event's flag, or, where an older release's projection left none, its reason's. */
class MeetingViewsTest {
  static MeetingRow row(String status, String error, Boolean retryable) {
    return new MeetingRow("m", "o", "t", status, 1.0, 1, 2, null, null, null, null, error, retryable);
  }

  @Test
  void aFailedItemsErrorIsItsReasonAndFlag() {
    assertTrue(MeetingViews.item(row("failed", "timed out", true)).error().retryable());
    assertFalse(MeetingViews.item(row("failed", "not audio (gave up after 5 attempts)", false)).error().retryable(),
        "the stored flag wins over the text");
    assertEquals("not audio", MeetingViews.item(row("failed", "not audio", false)).error().reason());
    assertNull(MeetingViews.item(row("done", null, null)).error());
  }

  @Test
  void withoutAStoredFlagTheReasonSaysWhetherTheAttemptsWereUsedUp() {
    assertTrue(MeetingViews.item(row("failed", "the gpu node left (gave up after 5 attempts)", null)).error().retryable());
    assertFalse(MeetingViews.item(row("failed", "the file is not decodable audio", null)).error().retryable());
    assertFalse(MeetingViews.item(row("failed", "x (gave up after 5 attempts) and more", null)).error().retryable());
    assertFalse(Meeting.gaveUp(null));
  }
}
