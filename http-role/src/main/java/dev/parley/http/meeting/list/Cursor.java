package dev.parley.http.meeting.list;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Keyset pagination position: the (created_at, id) of the last row of a page, as an opaque
 * URL-safe string. The next page holds the rows strictly after it in (created_at desc, id desc).
 */
public record Cursor(long createdAt, String id) {

  public String encode() {
    return Base64.getUrlEncoder().withoutPadding()
        .encodeToString((createdAt + ":" + id).getBytes(StandardCharsets.UTF_8));
  }

  /** @throws IllegalArgumentException for anything that is not a cursor this class made */
  public static Cursor decode(String s) {
    try {
      String raw = new String(Base64.getUrlDecoder().decode(s), StandardCharsets.UTF_8);
      int colon = raw.indexOf(':');
      if (colon <= 0 || colon == raw.length() - 1) throw new IllegalArgumentException("bad cursor");
      return new Cursor(Long.parseLong(raw.substring(0, colon)), raw.substring(colon + 1));
    } catch (IllegalArgumentException e) { // includes NumberFormatException and bad base64
      throw new IllegalArgumentException("invalid cursor", e);
    }
  }
}
