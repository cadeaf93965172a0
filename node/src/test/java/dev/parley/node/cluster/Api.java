package dev.parley.node.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/** The REST API of one http node, as a client sees it (java.net.http). */
final class Api {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient CLIENT =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).version(HttpClient.Version.HTTP_1_1).build();

  private final String base;
  private String token;

  Api(int port) {
    this.base = "http://127.0.0.1:" + port;
  }

  Api withToken(String token) {
    this.token = token;
    return this;
  }

  String token() {
    return token;
  }

  record Response(int status, String body) {
    JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (IOException e) {
        throw new AssertionError("not JSON (" + status + "): " + body, e);
      }
    }
  }

  Response send(HttpRequest.Builder b) {
    if (token != null) b.header("Authorization", "Bearer " + token);
    try {
      HttpResponse<String> r = CLIENT.send(b.timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
      return new Response(r.statusCode(), r.body());
    } catch (IOException e) {
      throw new AssertionError("request failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  Response get(String path) {
    return send(HttpRequest.newBuilder(URI.create(base + path)).GET());
  }

  Response delete(String path) {
    return send(HttpRequest.newBuilder(URI.create(base + path)).DELETE());
  }

  Response postJson(String path, String json) {
    return send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json)));
  }

  /** Registers (201, or 409 when the user exists) and logs in; keeps the token. */
  Api registerAndLogin(String email, String password) {
    String body = "{\"email\":\"" + email + "\",\"password\":\"" + password + "\"}";
    Response reg = postJson("/auth/register", body);
    if (reg.status() != 201 && reg.status() != 409) throw new AssertionError("register: " + reg);
    return login(email, password);
  }

  Api login(String email, String password) {
    Response login = postJson("/auth/login", "{\"email\":\"" + email + "\",\"password\":\"" + password + "\"}");
    if (login.status() != 200) throw new AssertionError("login: " + login);
    token = login.json().get("token").asText();
    return this;
  }

  /** Uploads a raw audio body; returns the new meeting's id (202). */
  String upload(byte[] wav, String title) {
    Response r = send(HttpRequest.newBuilder(URI.create(base + "/meetings?title=" + title))
        .header("Content-Type", "audio/wav").POST(HttpRequest.BodyPublishers.ofByteArray(wav)));
    if (r.status() != 202) throw new AssertionError("upload: " + r);
    return r.json().get("id").asText();
  }

  JsonNode meeting(String id) {
    Response r = get("/meetings/" + id);
    if (r.status() != 200) throw new AssertionError("GET /meetings/" + id + ": " + r);
    return r.json();
  }

  JsonNode history(String id) {
    Response r = get("/meetings/" + id + "/history");
    if (r.status() != 200) throw new AssertionError("GET /meetings/" + id + "/history: " + r);
    return r.json();
  }

  /** Polls the meeting until {@code until} holds; returns that state. */
  JsonNode awaitMeeting(String id, Duration timeout, Predicate<JsonNode> until, String what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    JsonNode last = null;
    while (System.nanoTime() < deadline) {
      last = meeting(id);
      if (until.test(last)) return last;
      TestCluster.sleep(100);
    }
    throw new AssertionError("meeting " + id + " not " + what + " within " + timeout + "; last state: " + last);
  }

  JsonNode awaitStatus(String id, String status, Duration timeout) {
    return awaitMeeting(id, timeout, m -> status.equals(m.path("status").asText()), status);
  }

  /** 16 kHz 16-bit mono WAV of a tone, {@code seconds} long. */
  static byte[] toneWav(double seconds, double hz) {
    int n = (int) (seconds * 16000);
    ByteBuffer pcm = ByteBuffer.allocate(n * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) pcm.putShort((short) (8000 * Math.sin(2 * Math.PI * hz * i / 16000.0)));
    ByteBuffer h = ByteBuffer.allocate(44).order(ByteOrder.LITTLE_ENDIAN);
    h.put("RIFF".getBytes()).putInt(36 + n * 2).put("WAVE".getBytes()).put("fmt ".getBytes()).putInt(16)
        .putShort((short) 1).putShort((short) 1).putInt(16000).putInt(32000).putShort((short) 2).putShort((short) 16)
        .put("data".getBytes()).putInt(n * 2);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(h.array());
    out.writeBytes(pcm.array());
    return out.toByteArray();
  }

  static List<JsonNode> list(JsonNode array) {
    List<JsonNode> out = new ArrayList<>();
    array.forEach(out::add);
    return out;
  }
}
