package dev.parley.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.parley.http.db.DbSettings;
import dev.parley.http.testutil.Api;
import dev.parley.http.testutil.FakeWorker;
import dev.parley.http.testutil.TestNode;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
    DbSettings db = DbSettings.fromConfig(ConfigFactory.parseString(
        "data-dir = \"" + dataDir + "\"\ndb { url = \"\", user = \"\", password = \"\", pool-size = 4 }"));
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
      assertArrayEquals(java.util.Arrays.copyOfRange(wav, 100, 200), range.body());
      assertEquals(6, api.get("/meetings/" + a + "/history", token).json().size());

      assertEquals(204, api.delete("/meetings/" + a, token).status());
      assertEquals(404, api.get("/meetings/" + a, token).status());
      assertEquals(-1, node.blobs.size(a));
      assertEquals(1, api.get("/meetings", token).json().get("items").size());
      assertEquals(1, api.get("/cluster", null).json().get("gpuNodes").asInt());
    }
  }

  /** A request still open when the node stops gets the one error shape, not Pekko's bare 503. */
  @Test
  void anUploadOpenWhenTheNodeStopsGetsAJsonError(@TempDir Path dataDir) throws Exception {
    DbSettings db = DbSettings.fromConfig(ConfigFactory.parseString(
        "data-dir = \"" + dataDir + "\"\ndb { url = \"\", user = \"\", password = \"\", pool-size = 4 }"));
    String extra = "parley.http.upload-stall-timeout = 60s";
    try (TestNode node = TestNode.start("h2stop", dataDir, db, List.of("http"), extra, null);
        Socket s = Api.stalledUpload(node.http.port(), new Api(node.base).user("stop@example.com"))) {
      Thread.sleep(300); // the upload is under way
      node.http.stop(Duration.ofMillis(500));
      String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(response.startsWith("HTTP/1.1 503"), response);
      assertTrue(response.contains("application/json"), response);
      assertTrue(response.contains("\"error\":\"shutting_down\""), response);
    }
  }
}
