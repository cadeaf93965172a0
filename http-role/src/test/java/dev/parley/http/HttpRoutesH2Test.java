package dev.parley.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.parley.http.db.DbSettings;
import dev.parley.http.meeting.list.DeletedMeetings;
import dev.parley.http.testutil.Api;
import dev.parley.http.testutil.FakeWorker;
import dev.parley.http.testutil.TestNode;
import dev.parley.http.web.Cors;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded default's database (H2 file under the data dir) through the main paths, with the
 * database blob store so its SQL runs on H2 too, and a generated JWT secret.
 */
class HttpRoutesH2Test {

  @Test
  void embeddedDatabaseServesTheApi(@TempDir Path dataDir) throws Exception {
    DbSettings db = TestNode.embeddedH2(dataDir);
    FakeWorker worker = new FakeWorker();
    String extra = "parley.http.jwt-secret = \"\"\nparley.blob.store = postgres";
    try (TestNode node = TestNode.start("h2", dataDir, db, List.of("http", "gpu"), extra, worker.factory())) {
      assertEquals(true, Files.exists(dataDir.resolve("jwt-secret")));
      Api api = new Api(node.base);
      assertEquals(200, api.get("/healthz", null).status());
      String token = api.user("h2@example.com");
      byte[] wav = Api.wav(1.0);
      String a = api.postMultipart("/meetings", token, "a.wav", "audio/wav", wav, Map.of("title", "A")).json().get("id").asText();
      String b = api.postRaw("/meetings?title=B", token, "audio/wav", Api.wav(0.5)).json().get("id").asText();
      JsonNode m = api.awaitStatus(a, token, "done", Duration.ofSeconds(15));
      assertEquals(1.0, m.get("duration").asDouble(), 1e-6);
      api.awaitStatus(b, token, "done", Duration.ofSeconds(15));

      JsonNode page = api.get("/meetings?limit=1", token).json();
      assertEquals(b, page.get("items").get(0).get("id").asText());
      JsonNode next = api.get("/meetings?limit=1&cursor=" + page.get("nextCursor").asText(), token).json();
      assertEquals(a, next.get("items").get(0).get("id").asText());

      assertArrayEquals(wav, api.get("/meetings/" + a + "/audio", token).body());
      var range = api.send(api.req("/meetings/" + a + "/audio", token).header("Range", "bytes=100-199").GET().build());
      assertEquals(206, range.status());
      assertArrayEquals(Arrays.copyOfRange(wav, 100, 200), range.body());
      assertEquals(6, api.get("/meetings/" + a + "/history", token).json().size());

      assertEquals(204, api.delete("/meetings/" + a, token).status());
      assertEquals(404, api.get("/meetings/" + a, token).status());
      assertEquals(-1, node.blobs.size(a));
      assertEquals(1, api.get("/meetings", token).json().get("items").size());
      assertEquals(1, api.get("/cluster", null).json().get("gpuNodes").asInt());

      // erased for good later (Pekko's journal tables are lower case on H2 too), once the list has the deletion
      long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
      int erased = 0;
      while (erased == 0 && System.nanoTime() < deadline) {
        erased = DeletedMeetings.erase(node.ds, Instant.now().plusSeconds(60));
        if (erased == 0) Thread.sleep(100);
      }
      assertEquals(1, erased);
      assertEquals(404, api.get("/meetings/" + a + "/history", token).status());
      assertEquals(200, api.get("/meetings/" + b, token).status());
    }
  }

  /**
   * A browser app on another origin: its preflights are answered before the bearer-token check, and
   * every answer, errors included, lets the page read it and the headers it needs.
   */
  @Test
  void aBrowserAppOnAnAllowedOriginCanCallTheApi(@TempDir Path dataDir) throws Exception {
    String app = "https://app.example.com";
    String extra = "parley.http.cors-origins = \" " + app + " , https://other.example.com\"";
    try (TestNode node = TestNode.start("h2cors", dataDir, TestNode.embeddedH2(dataDir), List.of("http"), extra, null)) {
      Api api = new Api(node.base);
      for (String[] p : new String[][] {{"/meetings", "GET", "authorization"}, {"/auth/login", "POST", "content-type"},
          {"/meetings/00000000-0000-0000-0000-000000000000", "DELETE", "authorization"}}) {
        Api.Res pre = api.send(api.req(p[0], null).header("Origin", app).header("Access-Control-Request-Method", p[1])
            .header("Access-Control-Request-Headers", p[2]).method("OPTIONS", HttpRequest.BodyPublishers.noBody()).build());
        assertEquals(200, pre.status(), p[0] + " " + pre.text());
        assertEquals(app, pre.header("Access-Control-Allow-Origin"), p[0]);
        assertTrue(pre.header("Access-Control-Allow-Methods").contains(p[1]), pre.header("Access-Control-Allow-Methods"));
        assertTrue(pre.header("Access-Control-Allow-Headers").toLowerCase().contains(p[2]), p[0]);
      }
      // answers and errors alike
      Api.Res unauthorized = api.send(api.req("/meetings", null).header("Origin", app).GET().build());
      assertEquals(401, unauthorized.status());
      assertEquals(app, unauthorized.header("Access-Control-Allow-Origin"));
      assertEquals(app, api.send(api.req("/nope", null).header("Origin", app).GET().build()).header("Access-Control-Allow-Origin"));
      String token = api.user("cors@example.com");
      Api.Res up = api.send(api.req("/meetings", token).header("Origin", app).header("Content-Type", "audio/wav")
          .POST(HttpRequest.BodyPublishers.ofByteArray(Api.wav(0.1))).build());
      assertEquals(202, up.status(), up.text());
      assertEquals(app, up.header("Access-Control-Allow-Origin"));
      assertEquals("Origin", up.header("Vary"), "a cache keeps one answer per origin");
      assertEquals(null, up.header("Access-Control-Allow-Credentials"), "bearer tokens, no cookies");
      String exposed = up.header("Access-Control-Expose-Headers");
      for (String h : List.of("Location", "Content-Range", "Accept-Ranges", "Content-Disposition", "Retry-After", "ETag",
          "WWW-Authenticate")) {
        assertTrue(exposed.contains(h), h + " in " + exposed);
      }

      // another origin gets no CORS headers (the browser keeps the answer from its page), and no preflight
      Api.Res stranger = api.send(api.req("/meetings", token).header("Origin", "https://evil.example").GET().build());
      assertEquals(200, stranger.status(), "served as a same-origin request");
      assertEquals(null, stranger.header("Access-Control-Allow-Origin"));
      Api.Res refused = api.send(api.req("/meetings", null).header("Origin", "https://evil.example")
          .header("Access-Control-Request-Method", "GET").method("OPTIONS", HttpRequest.BodyPublishers.noBody()).build());
      assertEquals(403, refused.status());
      assertEquals("cors_forbidden", refused.json().get("error").asText());
    }
    // without PARLEY_CORS_ORIGINS: no CORS headers at all, as before
    try (TestNode node = TestNode.start("h2nocors", dataDir, TestNode.embeddedH2(dataDir), List.of("http"), "", null)) {
      Api api = new Api(node.base);
      Api.Res r = api.send(api.req("/meetings", null).header("Origin", app).GET().build());
      assertEquals(401, r.status());
      assertEquals(null, r.header("Access-Control-Allow-Origin"));
    }
  }

  /** A mistyped PARLEY_CORS_ORIGINS stops the start (exit 2), not every request later (500s, /healthz included). */
  @Test
  void corsOriginsMustBeOrigins() {
    for (String bad : List.of("not an origin", "https://app.example.com/")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HttpSettings.fromConfig(
          ConfigFactory.parseString("parley.http.cors-origins = \"" + bad + "\"")
              .withFallback(ConfigFactory.load()).getConfig("parley")));
      assertTrue(e.getMessage().contains("PARLEY_CORS_ORIGINS"), e.getMessage());
    }
    Cors.check(List.of("*"));
  }

  /** A token lifetime that is not positive, or a short JWT secret, stops the start instead of handing out dead tokens. */
  @Test
  void tokenSettingsAreChecked() {
    for (String bad : List.of("parley.http.token-ttl = -5s", "parley.http.token-ttl = 0s", "parley.http.jwt-secret = short")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HttpSettings.fromConfig(
          ConfigFactory.parseString(bad).withFallback(ConfigFactory.load()).getConfig("parley")));
      assertTrue(e.getMessage().contains(bad.contains("ttl") ? "PARLEY_TOKEN_TTL" : "PARLEY_JWT_SECRET"), e.getMessage());
    }
  }

  /** A node whose blob directory cannot take files (a failing disk remounted read-only, a lost mount) is not healthy. */
  @Test
  void healthzSaysWhenTheBlobDirectoryCannotTakeFiles(@TempDir Path dataDir) throws Exception {
    DbSettings db = TestNode.embeddedH2(dataDir);
    try (TestNode node = TestNode.start("h2blobs", dataDir, db, List.of("http"), "", null)) {
      Api api = new Api(node.base);
      Path blobs = dataDir.resolve("blobs");
      awaitHealth(api, 200, "\"up\"");
      Files.delete(blobs); // as root a read-only mode would not stop writes; a missing directory does
      awaitHealth(api, 503, "the blob directory " + blobs.toAbsolutePath().normalize() + " is not writable");
      Files.createDirectory(blobs);
      awaitHealth(api, 200, "\"up\"");
    }
  }

  private static void awaitHealth(Api api, int status, String bodyPart) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    Api.Res r;
    do {
      r = api.get("/healthz", null);
      if (r.status() == status && r.text().contains(bodyPart)) return;
      Thread.sleep(100);
    } while (System.nanoTime() < deadline);
    throw new AssertionError("/healthz never answered " + status + " with " + bodyPart + "; last " + r.status() + " " + r.text());
  }

  /** Beyond PARLEY_MAX_CONCURRENT_UPLOADS uploads at once a node answers 503 busy, and serves the rest of the API. */
  @Test
  void aNodeStreamsAtMostItsLimitOfUploadsAtOnce(@TempDir Path dataDir) throws Exception {
    DbSettings db = TestNode.embeddedH2(dataDir);
    String extra = "parley.http.max-concurrent-uploads = 2\nparley.http.upload-stall-timeout = 30s";
    try (TestNode node = TestNode.start("h2busy", dataDir, db, List.of("http"), extra, null)) {
      Api api = new Api(node.base);
      String third = api.user("third@example.com");
      try (Socket a = Api.stalledUpload(node.http.port(), api.user("first@example.com"));
          Socket b = Api.stalledUpload(node.http.port(), api.user("second@example.com"))) {
        Thread.sleep(1000); // both in their slots: an upload sent before they are would take one of the two
        Api.Res busy = awaitUpload(api, third, 503);
        assertEquals("busy", busy.json().get("error").asText(), busy.text());
        assertEquals("5", busy.header("Retry-After"));
        assertEquals(200, api.get("/healthz", null).status());
        assertEquals(200, api.get("/meetings", third).status());
      }
      // the two clients went away: their slots are free again
      assertEquals(202, awaitUpload(api, third, 202).status());
    }
  }

  private static Api.Res awaitUpload(Api api, String token, int status) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    Api.Res r;
    do {
      r = api.postRaw("/meetings", token, "audio/wav", Api.wav(0.1));
      if (r.status() == status) return r;
      Thread.sleep(100);
    } while (System.nanoTime() < deadline);
    throw new AssertionError("no upload answered " + status + "; last " + r.status() + " " + r.text());
  }

  /** A request still open when the node stops gets the one error shape, not Pekko's bare 503. */
  @Test
  void anUploadOpenWhenTheNodeStopsGetsAJsonError(@TempDir Path dataDir) throws Exception {
    DbSettings db = TestNode.embeddedH2(dataDir);
    String extra = "parley.http.upload-stall-timeout = 60s";
    try (TestNode node = TestNode.start("h2stop", dataDir, db, List.of("http"), extra, null);
        Socket s = Api.stalledUpload(node.http.port(), new Api(node.base).user("stop@example.com"))) {
      Thread.sleep(300); // the upload is under way
      node.http.stop(Duration.ofMillis(500));
      String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(response.startsWith("HTTP/1.1 503"), response);
      assertTrue(response.contains("application/json"), response);
      assertTrue(response.contains("\"error\":\"shutting_down\""), response);
      assertTrue(response.contains("Retry-After: 1"), response);
    }
  }

}
