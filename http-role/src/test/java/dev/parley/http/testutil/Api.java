package dev.parley.http.testutil;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.http.web.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Assertions;

/** A small JSON/HTTP client for the route tests (JDK HttpClient, HTTP/1.1). */
public final class Api {
  public final String base;
  public final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  public Api(String base) {
    this.base = base;
  }

  public record Res(int status, byte[] body, HttpResponse<byte[]> raw) {
    public String text() {
      return new String(body, StandardCharsets.UTF_8);
    }

    public JsonNode json() {
      try {
        return Json.MAPPER.readTree(body);
      } catch (Exception e) {
        throw new AssertionError("not JSON (" + status + "): " + text(), e);
      }
    }

    public String header(String name) {
      return raw.headers().firstValue(name).orElse(null);
    }
  }

  public HttpRequest.Builder req(String path, String token) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30));
    if (token != null) b.header("Authorization", "Bearer " + token);
    return b;
  }

  public Res send(HttpRequest r) {
    try {
      HttpResponse<byte[]> resp = client.send(r, HttpResponse.BodyHandlers.ofByteArray());
      return new Res(resp.statusCode(), resp.body(), resp);
    } catch (Exception e) {
      throw new AssertionError("request " + r.method() + " " + r.uri() + " failed: " + e, e);
    }
  }

  /** {@code r} is the API's one error shape, {@code {"error": code, "message": ...}}, with {@code status}; {@code code} null: any. */
  public static void assertError(Res r, int status, String code) {
    Assertions.assertEquals(status, r.status(), () -> "status, body: " + r.text());
    Assertions.assertTrue(r.header("Content-Type").startsWith("application/json"),
        () -> "content type " + r.header("Content-Type"));
    JsonNode j = r.json();
    Assertions.assertEquals(2, j.size(), () -> "error shape: " + r.text());
    Assertions.assertNotNull(j.get("message"), r.text());
    Assertions.assertFalse(j.get("message").asText().isBlank(), r.text());
    if (code != null) Assertions.assertEquals(code, j.get("error").asText(), r.text());
  }

  public Res get(String path, String token) {
    return send(req(path, token).GET().build());
  }

  public Res delete(String path, String token) {
    return send(req(path, token).DELETE().build());
  }

  public Res postJson(String path, String token, String json) {
    return send(req(path, token).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json)).build());
  }

  public Res postRaw(String path, String token, String contentType, byte[] body) {
    return send(req(path, token).header("Content-Type", contentType).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
  }

  /** multipart/form-data with a {@code file} part (skipped when null) and text fields. */
  public Res postMultipart(String path, String token, String fileName, String fileType, byte[] file, Map<String, String> fields) {
    return send(multipart(path, token, fileName, fileType, file, fields).build());
  }

  /** The request {@link #postMultipart} sends, for a test to add headers to. */
  public HttpRequest.Builder multipart(String path, String token, String fileName, String fileType, byte[] file,
      Map<String, String> fields) {
    String boundary = "----parley" + UUID.randomUUID();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      for (Map.Entry<String, String> f : fields.entrySet()) {
        out.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + f.getKey() + "\"\r\n\r\n"
            + f.getValue() + "\r\n").getBytes(StandardCharsets.UTF_8));
      }
      if (file != null) {
        out.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + fileName
            + "\"\r\nContent-Type: " + fileType + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        out.write(file);
        out.write("\r\n".getBytes(StandardCharsets.UTF_8));
      }
      out.write(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    return req(path, token).header("Content-Type", "multipart/form-data; boundary=" + boundary)
        .POST(HttpRequest.BodyPublishers.ofByteArray(out.toByteArray()));
  }

  /** Registers (201) and logs in; returns the token. */
  public String user(String email) {
    String body = "{\"email\":\"" + email + "\",\"password\":\"correct-horse\"}";
    Res r = postJson("/auth/register", null, body);
    if (r.status() != 201) throw new AssertionError("register " + email + ": " + r.status() + " " + r.text());
    Res l = postJson("/auth/login", null, body);
    if (l.status() != 200) throw new AssertionError("login " + email + ": " + l.status() + " " + l.text());
    return l.json().get("token").asText();
  }

  /** Polls GET /meetings/{id} until its status is {@code status}. */
  public JsonNode awaitStatus(String id, String token, String status, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    JsonNode last = null;
    while (System.nanoTime() < deadline) {
      Res r = get("/meetings/" + id, token);
      if (r.status() == 200) {
        last = r.json();
        if (status.equals(last.get("status").asText())) return last;
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    }
    throw new AssertionError("meeting " + id + " did not reach " + status + " within " + timeout + "; last: " + last);
  }

  /** A 16-bit mono 16 kHz PCM WAV of {@code seconds} of a tone. */
  public static byte[] wav(double seconds) {
    int rate = 16000;
    int n = (int) Math.round(seconds * rate);
    ByteBuffer b = ByteBuffer.allocate(44 + 2 * n).order(ByteOrder.LITTLE_ENDIAN);
    b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(36 + 2 * n).put("WAVE".getBytes(StandardCharsets.US_ASCII));
    b.put("fmt ".getBytes(StandardCharsets.US_ASCII)).putInt(16).putShort((short) 1).putShort((short) 1)
        .putInt(rate).putInt(rate * 2).putShort((short) 2).putShort((short) 16);
    b.put("data".getBytes(StandardCharsets.US_ASCII)).putInt(2 * n);
    for (int i = 0; i < n; i++) b.putShort((short) (8000 * Math.sin(2 * Math.PI * 220 * i / rate)));
    return b.array();
  }

  /**
   * A raw connection that starts an upload declaring 5,000 bytes, sends 1,000 and goes quiet, as a
   * stalled or vanished client does; read the server's answer from the returned socket (15 s read timeout).
   */
  public static Socket stalledUpload(int port, String token) throws IOException {
    Socket s = new Socket("127.0.0.1", port);
    s.setSoTimeout(15_000);
    OutputStream out = s.getOutputStream();
    out.write(("POST /meetings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token
        + "\r\nContent-Type: audio/wav\r\nContent-Length: 5000\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    out.write(new byte[1000]);
    out.flush();
    return s;
  }
}
