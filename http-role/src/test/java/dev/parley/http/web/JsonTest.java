package dev.parley.http.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.parley.protocol.SpeakerSummary;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/**
 * A security review found 400 answers quoting Jackson ("... bound as dev.parley.http.auth.AuthRoutes$Credentials"):
 * a client is told what is wrong with its body in its own terms, never Parley's class names.
 */
class JsonTest {
  public record Login(String email, String password) {}

  static String problem(String json) {
    IOException e = assertThrows(IOException.class, () -> Json.MAPPER.readerFor(Login.class).readValue(json));
    return Json.describe(e);
  }

  @Test
  void aBadBodyIsDescribedWithoutInternals() {
    assertEquals("the body is not valid JSON", problem("{\"email\": "));
    assertEquals("field 'email' has the wrong type or value", problem("{\"email\": {\"a\": 1}, \"password\": \"x\"}"));
    assertEquals("the JSON body nests too deep or holds a value too long", problem("{\"email\": " + "1".repeat(2000) + "}"));
  }

  /** GET /meetings/{id}/history served each speaker's 192-float centroid: a voiceprint, never to leave the server. */
  @Test
  void speakersAreServedWithoutTheirVoiceprints() throws Exception {
    String json = Json.MAPPER.writeValueAsString(new SpeakerSummary("SPEAKER_00", 1.5, new float[] {0.6f, 0.8f}));
    assertEquals("{\"label\":\"SPEAKER_00\",\"talkTime\":1.5}", json);
  }

  /** QA: {@code application/json;q=0} was taken as accepting JSON. */
  @Test
  void jsonIsAcceptableUnlessItsMostSpecificRangeSaysQZero() {
    java.util.function.Function<String, Boolean> accepts = header -> Json.acceptsJson(
        (org.apache.pekko.http.javadsl.model.headers.Accept) org.apache.pekko.http.javadsl.model.HttpHeader.parse("Accept", header));
    assertTrue(accepts.apply("application/json"));
    assertTrue(accepts.apply("*/*"));
    assertTrue(accepts.apply("application/*"));
    assertTrue(accepts.apply("text/html, */*;q=0.1"));
    assertFalse(accepts.apply("text/html"));
    assertFalse(accepts.apply("application/json;q=0"));
    assertFalse(accepts.apply("*/*;q=0.5, application/json;q=0"));
    assertFalse(accepts.apply("application/*;q=0, */*"));
    assertTrue(accepts.apply("application/json;q=0.2, */*;q=0"));
  }
}
