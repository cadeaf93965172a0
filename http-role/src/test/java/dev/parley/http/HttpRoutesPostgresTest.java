package dev.parley.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static dev.parley.http.testutil.Api.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.http.auth.AudioUrls;
import dev.parley.http.auth.TokenService;
import dev.parley.http.cluster.ClusterRoutes;
import dev.parley.http.meeting.Meeting;
import dev.parley.http.meeting.list.DeletedMeetings;
import dev.parley.http.testutil.Api;
import dev.parley.http.testutil.Api.Res;
import dev.parley.http.testutil.FakeWorker;
import dev.parley.http.testutil.Postgres;
import dev.parley.http.testutil.TestNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The REST API end to end on a one-node cluster (roles http and gpu, a fake gpu worker) over the
 * real PostgreSQL: auth, uploads, list, meeting, RTTM, history, audio ranges, delete, errors.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HttpRoutesPostgresTest {
  private static final Duration WAIT = Duration.ofSeconds(15);

  Path dataDir;
  Postgres pg;
  TestNode node;
  Api api;
  FakeWorker worker = new FakeWorker();

  @BeforeAll
  void start(@TempDir Path dir) {
    dataDir = dir;
    pg = Postgres.freshSchema();
    node = TestNode.start("routes", dataDir, pg.db, List.of("http", "gpu"), null, worker.factory());
    api = new Api(node.base);
  }

  @AfterAll
  void stop() {
    if (node != null) node.close();
    if (pg != null) pg.close();
  }

  // ---------------------------------------------------------------- health, cluster, plumbing

  @Test
  void healthAndCluster() {
    Res h = api.get("/healthz", null);
    assertEquals(200, h.status(), h.text());
    assertEquals("up", h.json().get("status").asText());

    Res c = api.get("/cluster", null);
    assertEquals(200, c.status(), c.text());
    JsonNode j = c.json();
    assertEquals(1, j.get("members").size());
    JsonNode m = j.get("members").get(0);
    assertEquals("up", m.get("status").asText());
    assertTrue(m.get("roles").toString().contains("http") && m.get("roles").toString().contains("gpu"), m.toString());
    assertEquals(1, j.get("gpuNodes").asInt());
    assertEquals(1, j.get("httpNodes").asInt());
    assertTrue(j.get("jobs").has("queued") && j.get("jobs").has("running"), j.toString());

    Res a = api.get("/autoscale", null);
    assertEquals(200, a.status(), a.text());
    JsonNode scale = a.json();
    assertEquals(1, scale.get("gpuNodes").asInt(), scale.toString());
    assertEquals(4, scale.get("maxGpuNodes").asInt(), scale.toString());
    assertEquals(1, scale.get("jobsPerGpuNode").asInt(), scale.toString());
    long jobs = scale.get("queued").asLong() + scale.get("running").asLong();
    assertEquals(Math.min(4, jobs), scale.get("desiredGpuNodes").asLong(), scale.toString());
  }

  @Test
  void theScaleSignalAsksForEnoughGpuNodesForTheWorkAndNoneWithout() {
    ClusterRoutes.ScaleSettings one = new ClusterRoutes.ScaleSettings(1, 4);
    assertEquals(0, one.desiredGpuNodes(0, 0));
    assertEquals(1, one.desiredGpuNodes(1, 0));
    assertEquals(3, one.desiredGpuNodes(2, 1));
    assertEquals(4, one.desiredGpuNodes(100, 2));
    ClusterRoutes.ScaleSettings four = new ClusterRoutes.ScaleSettings(4, 10);
    assertEquals(1, four.desiredGpuNodes(0, 4));
    assertEquals(2, four.desiredGpuNodes(1, 4));
    assertThrows(IllegalArgumentException.class, () -> new ClusterRoutes.ScaleSettings(0, 4));
    assertThrows(IllegalArgumentException.class, () -> new ClusterRoutes.ScaleSettings(1, 0));
  }

  @Test
  void unknownRoutesAndMethodsAreJsonErrors() {
    assertError(api.get("/nope", null), 404, "not_found");
    assertError(api.send(api.req("/auth/login", null).PUT(HttpRequest.BodyPublishers.ofString("{}")).build()),
        405, "method_not_allowed");
    // the fixed names under /meetings are not meeting ids
    String token = api.user("methods@example.com");
    Res getUpload = api.get("/meetings/upload", token);
    assertError(getUpload, 405, "method_not_allowed");
    assertEquals("POST", getUpload.header("Allow"));
    Res postList = api.postRaw("/meetings/list", token, "audio/wav", Api.wav(0.1));
    assertError(postList, 405, "method_not_allowed");
    assertEquals("GET", postList.header("Allow"));
    assertEquals(200, api.get("/meetings/list/", token).status());
  }

  @Test
  void malformedRequestLineGetsJson() throws Exception {
    try (Socket s = new Socket("127.0.0.1", node.http.port())) {
      s.setSoTimeout(5000);
      OutputStream out = s.getOutputStream();
      out.write("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String resp = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(resp.startsWith("HTTP/1.1 400"), resp);
      assertTrue(resp.contains("\"error\":\"bad_request\""), resp);
    }
  }

  // ---------------------------------------------------------------- auth

  @Test
  void tenFailedLoginsHoldTheAccountBack() {
    api.user("guessed@example.com");
    String wrong = "{\"email\":\"guessed@example.com\",\"password\":\"wrong-guess\"}";
    for (int i = 0; i < 10; i++) assertError(api.postJson("/auth/login", null, wrong), 401, "invalid_credentials");
    // even the right password waits now: a guesser cannot tell a hit
    assertError(api.postJson("/auth/login", null, "{\"email\":\"guessed@example.com\",\"password\":\"correct-horse\"}"),
        429, "too_many_attempts");
    Res held = api.postJson("/auth/login", null, wrong);
    long retryAfter = Long.parseLong(held.header("Retry-After"));
    assertTrue(retryAfter > 0 && retryAfter <= 300, held.header("Retry-After"));
    api.user("not-guessed@example.com"); // other accounts log in as usual
  }

  @Test
  void registerAndLogin() {
    String body = "{\"email\":\"Alice@Example.com\",\"password\":\"long-enough\"}";
    Res r = api.postJson("/auth/register", null, body);
    assertEquals(201, r.status(), r.text());
    assertEquals("alice@example.com", r.json().get("email").asText());
    assertError(api.postJson("/auth/register", null, "{\"email\":\"alice@example.com\",\"password\":\"other-pass\"}"), 409, "email_taken");
    assertError(api.postJson("/auth/register", null, "{\"email\":\"not-an-email\",\"password\":\"long-enough\"}"), 400, "invalid_email");
    assertError(api.postJson("/auth/register", null, "{\"email\":\"b@example.com\",\"password\":\"short\"}"), 400, "invalid_password");
    // four emoji are eight UTF-16 units but four characters
    assertError(api.postJson("/auth/register", null, "{\"email\":\"b@example.com\",\"password\":\"\ud83d\ude00\ud83d\ude00\ud83d\ude00\ud83d\ude00\"}"),
        400, "invalid_password");
    assertError(api.postJson("/auth/register", null, "{\"email\":\"b@example.com\"}"), 400, "invalid_password");
    assertError(api.postJson("/auth/register", null, "{\"email\":\"b@example.com\",\"password\":\"          \"}"), 400, "invalid_password");
    assertError(api.postJson("/auth/register", null, "{\"email\":\"b@example.com\",\"password\":\"\\t\\u00a0\\u2003\\n    \\u3000 \"}"),
        400, "invalid_password");
    assertError(api.postJson("/auth/register", null, "{\"email\":\"b@example.com\",\"password\":\"" + "\\u200b".repeat(8) + "\"}"),
        400, "invalid_password"); // zero-width spaces
    Res empty = api.postJson("/auth/register", null, "{\"email\":\"b@example.com\",\"password\":\"\"}");
    assertError(empty, 400, "invalid_password");
    assertTrue(empty.text().contains("at least"), empty.text());
    assertError(api.postJson("/auth/register", null, "{\"email\": \"b@example.com\", "), 400, "bad_request");
    assertError(api.postJson("/auth/register", null, "[1,2]"), 400, "bad_request");
    // JSON is UTF-8: a malformed byte is refused, not read as U+FFFD (two bodies would name one account)
    byte[] badUtf8 = "{\"email\":\"bad\u00ff@example.com\",\"password\":\"long-enough\"}".getBytes(StandardCharsets.ISO_8859_1);
    assertError(api.postRaw("/auth/register", null, "application/json", badUtf8), 400, "bad_request");
    assertError(api.postJson("/auth/register", null, "{\"email\":\"n@example.com\",\"password\":12345678}"), 400, "bad_request");
    assertError(api.postJson("/auth/register", null, "{\"email\":\"n@example.com\",\"password\":true}"), 400, "bad_request");
    Res huge = api.postJson("/auth/register", null, "{\"email\":\"h@example.com\",\"password\":\"" + "p".repeat(70_000) + "\"}");
    assertError(huge, 413, "payload_too_large");
    assertFalse(huge.text().contains("pekko"), huge.text());
    assertError(api.postJson("/auth/register", null, "{\"email\":\"c@example.com\",\"password\":\"long-enough\"} trailing"), 400, "bad_request");
    assertError(api.postJson("/auth/register", null,
        "{\"email\":\"c@example.com\",\"password\":\"long-enough\",\"password\":\"other-pass\"}"), 400, "bad_request");

    Res l = api.postJson("/auth/login", null, body);
    assertEquals(200, l.status(), l.text());
    JsonNode t = l.json();
    assertFalse(t.get("token").asText().isBlank());
    Instant exp = Instant.parse(t.get("expiresAt").asText());
    assertTrue(exp.isAfter(Instant.now().plus(Duration.ofHours(23))), exp.toString());
    assertEquals(200, api.get("/meetings", t.get("token").asText()).status());

    assertError(api.postJson("/auth/login", null, "{\"email\":\"alice@example.com\",\"password\":\"wrong-pass\"}"), 401, "invalid_credentials");
    assertError(api.postJson("/auth/login", null, "{\"email\":\"nobody@example.com\",\"password\":\"long-enough\"}"), 401, "invalid_credentials");
    assertError(api.postJson("/auth/login", null, "{\"email\":\"alice@example.com\"}"), 400, null);
    assertError(api.postJson("/auth/login", null, "nonsense"), 400, null);
  }

  @Test
  void passwordsBcryptWouldConfuseAreRefused() {
    // bcrypt stops at a NUL and repeats its key, and an unpaired surrogate becomes '?' in UTF-8
    String nuls = "\\u0000".repeat(8);
    assertError(api.postJson("/auth/register", null, "{\"email\":\"nul@example.com\",\"password\":\"" + nuls + "\"}"), 400, "invalid_password");
    assertError(api.postJson("/auth/register", null, "{\"email\":\"nul@example.com\",\"password\":\"\\ud800abcdefgh\"}"), 400, "invalid_password");
    assertEquals(201, api.postJson("/auth/register", null, "{\"email\":\"cyc@example.com\",\"password\":\"abcdefgh\"}").status());
    assertError(api.postJson("/auth/login", null, "{\"email\":\"cyc@example.com\",\"password\":\"abcdefgh\\u0000abcdefgh\"}"), 401, "invalid_credentials");
    assertEquals(200, api.postJson("/auth/login", null, "{\"email\":\"cyc@example.com\",\"password\":\"abcdefgh\"}").status());
  }

  @Test
  void aRegistrationRefusedForItsAcceptHeaderCreatesNoAccount() {
    String body = "{\"email\":\"accept@example.com\",\"password\":\"long-enough\"}";
    Res refused = api.send(api.req("/auth/register", null).header("Content-Type", "application/json")
        .header("Accept", "text/plain").POST(HttpRequest.BodyPublishers.ofString(body)).build());
    assertError(refused, 406, "not_acceptable");
    assertEquals(201, api.postJson("/auth/register", null, body).status(), "the refused request created nothing");
  }

  @Test
  void meetingsNeedAValidToken() {
    String good = api.user("tok@example.com");
    String userId = new TokenService("test-secret-0123456789abcdef", Duration.ofHours(1)).verify(good).orElseThrow().id();
    String forged = new TokenService("another-secret-0123456789", Duration.ofHours(1)).issue(userId, "tok@example.com").token();
    Clock past = Clock.fixed(Instant.now().minus(Duration.ofHours(2)), ZoneOffset.UTC);
    String expired = new TokenService("test-secret-0123456789abcdef", Duration.ofHours(1), past).issue(userId, "tok@example.com").token();

    for (String path : List.of("/meetings", "/meetings/list", "/meetings/00000000-0000-0000-0000-000000000000")) {
      Res none = api.get(path, null);
      assertError(none, 401, "unauthorized");
      assertEquals("Bearer realm=\"parley\"", none.header("WWW-Authenticate"));
      for (String bad : List.of(forged, expired, "garbage")) {
        Res r = api.get(path, bad);
        assertError(r, 401, "unauthorized");
        // RFC 6750: the client knows its token is the problem and logs in again
        assertEquals("Bearer realm=\"parley\", error=\"invalid_token\"", r.header("WWW-Authenticate"));
      }
      assertError(api.send(api.req(path, null).header("Authorization", "Basic Zm9vOmJhcg==").GET().build()), 401, "unauthorized");
    }
    assertError(api.postRaw("/meetings", forged, "audio/wav", Api.wav(0.1)), 401, "unauthorized");
    assertEquals(200, api.get("/meetings", good).status());

    // a front end asks whose a stored token is, and learns from a 401 that it no longer works
    Res me = api.get("/auth/me", good);
    assertEquals(200, me.status(), me.text());
    assertEquals(userId, me.json().get("id").asText());
    assertEquals("tok@example.com", me.json().get("email").asText());
    for (String bad : List.of(forged, expired)) assertError(api.get("/auth/me", bad), 401, "unauthorized");
    assertError(api.get("/auth/me", null), 401, "unauthorized");
  }

  // ---------------------------------------------------------------- meetings

  @Test
  void multipartUploadIsProcessedAndReadable() throws Exception {
    String token = api.user("multi@example.com");
    byte[] wav = Api.wav(2.0);
    Res up = api.postMultipart("/meetings", token, "standup.wav", "audio/wav", wav,
        Map.of("title", "Standup", "numSpeakers", "2"));
    assertEquals(202, up.status(), up.text());
    String id = up.json().get("id").asText();
    assertEquals("queued", up.json().get("status").asText());
    assertEquals("/meetings/" + id, up.header("Location"));

    JsonNode m = api.awaitStatus(id, token, "done", WAIT);
    assertEquals("Standup", m.get("title").asText());
    assertEquals(2.0, m.get("duration").asDouble(), 1e-6);
    assertEquals(1.0, m.get("progress").asDouble(), 1e-9);
    assertEquals(2, m.get("options").get("numSpeakers").asInt());
    assertEquals("audio/wav", m.get("audio").get("contentType").asText());
    assertEquals(wav.length, m.get("audio").get("size").asLong());
    assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(wav)),
        m.get("audio").get("sha256").asText());
    assertEquals(2, m.get("segments").size());
    JsonNode seg = m.get("segments").get(0);
    assertEquals(0.0, seg.get("start").asDouble());
    assertEquals(1.0, seg.get("end").asDouble(), 1e-9);
    assertEquals("SPEAKER_00", seg.get("speaker").asText());
    assertEquals(2, m.get("speakers").size());
    assertEquals(1.0, m.get("speakers").get(1).get("talkTime").asDouble(), 1e-9);
    JsonNode p = m.get("processing");
    assertEquals(1, p.get("attempts").asInt());
    assertEquals("fake-gpu", p.get("node").asText());
    assertEquals(0.02, p.get("gpuSeconds").asDouble(), 1e-9);
    assertEquals("fake-1", p.get("models").get("embedding").asText());
    assertTrue(m.get("error").isNull());

    // a weak ETag: an unchanged meeting is not sent again; nothing a token fetched is cached for others
    Res again = api.get("/meetings/" + id, token);
    String etag = again.header("ETag");
    assertTrue(etag != null && etag.startsWith("W/\""), etag);
    assertEquals("private, no-cache", again.header("Cache-Control"));
    Res same = api.send(api.req("/meetings/" + id, token).header("If-None-Match", etag).GET().build());
    assertEquals(304, same.status(), same.text());
    assertEquals(etag, same.header("ETag"));
    assertEquals(200, api.send(api.req("/meetings/" + id, token).header("If-None-Match", "W/\"older\"").GET().build()).status());
    // If-Match that fails: 412 in the API's error shape, not Pekko's plain text
    assertError(api.send(api.req("/meetings/" + id, token).header("If-Match", "\"nope\"").GET().build()), 412, "precondition_failed");
    assertError(api.send(api.req("/meetings/" + id, token).header("Accept", "text/html").GET().build()), 406, "not_acceptable");
    String queuedTag = api.get("/meetings/" + api.postRaw("/meetings", token, "audio/wav", Api.wav(0.1)).json().get("id").asText(), token)
        .header("ETag");
    assertFalse(etag.equals(queuedTag), "another meeting, another version");

    Res rttm = api.get("/meetings/" + id + "/rttm", token);
    assertEquals(200, rttm.status());
    assertEquals("attachment; filename=\"" + id + ".rttm\"", rttm.header("Content-Disposition"));
    assertEquals("inline; filename=\"standup.wav\"", api.get("/meetings/" + id + "/audio", token).header("Content-Disposition"));
    assertEquals("private, no-cache", rttm.header("Cache-Control"));
    assertTrue(rttm.header("Content-Type").startsWith("text/plain"), rttm.header("Content-Type"));
    List<String> lines = rttm.text().lines().toList();
    assertEquals(2, lines.size(), rttm.text());
    // validated like the meeting: a weak ETag of the file, 304 to If-None-Match
    String rttmTag = assertRevalidates("/meetings/" + id + "/rttm", token);
    assertTrue(lines.get(1).startsWith("SPEAKER " + id + " 1 1.000 1.000 <NA> <NA> SPEAKER_01"), lines.get(1));

    Res h = api.get("/meetings/" + id + "/history", token);
    assertEquals(200, h.status(), h.text());
    List<String> types = new ArrayList<>();
    long seq = 0;
    Instant ts = Instant.EPOCH;
    for (JsonNode e : h.json()) {
      types.add(e.get("type").asText());
      assertEquals(seq + 1, e.get("sequenceNr").asLong());
      seq = e.get("sequenceNr").asLong();
      Instant t = Instant.parse(e.get("timestamp").asText());
      assertFalse(t.isBefore(ts));
      ts = t;
    }
    assertEquals(List.of("Created", "AudioStored", "Queued", "Dispatched", "Progress", "Completed"), types);
    assertEquals("Standup", h.json().get(0).get("event").get("title").asText());
    // the speakers of the result, without their voiceprints (192-float centroids)
    JsonNode speakers = h.json().get(5).get("event").get("result").get("speakers");
    assertEquals(2, speakers.size(), h.text());
    assertEquals("SPEAKER_00", speakers.get(0).get("label").asText());
    assertFalse(h.text().contains("centroid"), h.text());
    assertEquals(1, types.stream().filter("Completed"::equals).count());
    String historyTag = assertRevalidates("/meetings/" + id + "/history", token);
    assertFalse(historyTag.equals(rttmTag) || historyTag.equals(etag), "each representation has its own tag");
    assertError(api.send(api.req("/meetings/" + id + "/history", token).header("Accept", "text/plain").GET().build()),
        406, "not_acceptable");

    // the list follows the events: done, with speakers
    JsonNode item = awaitListItem(token, id, "done");
    // a name means one thing in the list and the detail: the detail's speakers is a list, the count has its own name
    assertEquals(2, item.get("speakerCount").asInt(), item.toString());
    assertFalse(item.has("speakers"), item.toString());
    assertTrue(item.get("error").isNull(), item.toString());
    assertEquals(2.0, item.get("duration").asDouble(), 1e-6);

    // a new event is a new history: the tag a client kept no longer matches
    assertEquals(204, api.delete("/meetings/" + id, token).status());
    Res after = api.send(api.req("/meetings/" + id + "/history", token).header("If-None-Match", historyTag).GET().build());
    assertEquals(200, after.status(), after.text());
    assertFalse(historyTag.equals(after.header("ETag")), after.header("ETag"));
    assertTrue(after.text().contains("\"Deleted\""), after.text());
  }

  /**
   * {@code path} answers 200 with a weak ETag and the routes' Cache-Control, 304 (with the same tag
   * and no body) to an If-None-Match that names it, and 200 to one that names another; its tag.
   */
  private String assertRevalidates(String path, String token) {
    Res full = api.get(path, token);
    assertEquals(200, full.status(), full.text());
    String tag = full.header("ETag");
    assertTrue(tag != null && tag.startsWith("W/\""), path + ": " + tag);
    assertEquals("private, no-cache", full.header("Cache-Control"), path);
    assertEquals(tag, api.get(path, token).header("ETag"), path + ": the same bytes, the same tag");
    Res same = api.send(api.req(path, token).header("If-None-Match", tag).GET().build());
    assertEquals(304, same.status(), path + ": " + same.text());
    assertEquals(tag, same.header("ETag"), path);
    assertEquals(0, same.body().length, path);
    assertEquals("private, no-cache", same.header("Cache-Control"), path);
    Res other = api.send(api.req(path, token).header("If-None-Match", "W/\"older\"").GET().build());
    assertEquals(200, other.status(), path);
    assertEquals(full.text(), other.text(), path);
    return tag;
  }

  @Test
  void rawUploadWithQueryFields() {
    String token = api.user("raw@example.com");
    Res up = api.postRaw("/meetings/upload?title=Raw%20one&minSpeakers=1&maxSpeakers=3", token, "audio/wav", Api.wav(1.0));
    assertEquals(202, up.status(), up.text());
    String id = up.json().get("id").asText();
    JsonNode m = api.awaitStatus(id, token, "done", WAIT);
    assertEquals("Raw one", m.get("title").asText());
    assertEquals(1, m.get("options").get("minSpeakers").asInt());
    assertEquals(3, m.get("options").get("maxSpeakers").asInt());
    assertEquals(1.0, m.get("duration").asDouble(), 1e-6);

    Res oct = api.postRaw("/meetings", token, "application/octet-stream", Api.wav(0.5));
    assertEquals(202, oct.status(), oct.text());
    JsonNode o = api.awaitStatus(oct.json().get("id").asText(), token, "done", WAIT);
    assertEquals("audio/wav", o.get("audio").get("contentType").asText(), "sniffed from the RIFF header");

    // a raw body's Content-Disposition names the file, as a form's file part does: the title and the download
    Res named = api.send(api.req("/meetings", token).header("Content-Type", "audio/wav")
        .header("Content-Disposition", "attachment; filename=\"Weekly sync.wav\"")
        .POST(HttpRequest.BodyPublishers.ofByteArray(Api.wav(0.5))).build());
    assertEquals(202, named.status(), named.text());
    String namedId = named.json().get("id").asText();
    assertEquals("Weekly sync", api.awaitStatus(namedId, token, "done", WAIT).get("title").asText());
    assertTrue(api.get("/meetings/" + namedId + "/audio", token).header("Content-Disposition").contains("Weekly sync.wav"));
    Res titled = api.send(api.req("/meetings?title=Given", token).header("Content-Type", "audio/wav")
        .header("Content-Disposition", "attachment; filename=\"other.wav\"")
        .POST(HttpRequest.BodyPublishers.ofByteArray(Api.wav(0.5))).build());
    assertEquals("Given", api.awaitStatus(titled.json().get("id").asText(), token, "done", WAIT).get("title").asText());

    // QA: num_speakers (pyannote's spelling) was ignored without a word; either spelling counts, not both
    Res snake = api.postRaw("/meetings?min_speakers=1&max_speakers=2", token, "audio/wav", Api.wav(0.5));
    JsonNode sn = api.awaitStatus(snake.json().get("id").asText(), token, "done", WAIT);
    assertEquals(1, sn.get("options").get("minSpeakers").asInt());
    assertEquals(2, sn.get("options").get("maxSpeakers").asInt());
    Res snakeForm = api.postMultipart("/meetings", token, "s.wav", "audio/wav", Api.wav(0.5), Map.of("num_speakers", "1"));
    assertEquals(1, api.awaitStatus(snakeForm.json().get("id").asText(), token, "done", WAIT).get("options")
        .get("numSpeakers").asInt());
    Res both = api.postRaw("/meetings?numSpeakers=1&num_speakers=2", token, "audio/wav", Api.wav(0.5));
    assertError(both, 400, "bad_request");
    assertTrue(both.json().get("message").asText().contains("'numSpeakers' is given twice"), both.text());

    // a form takes its fields from the query string too; its own fields win
    Res form = api.postMultipart("/meetings?title=From%20query&maxSpeakers=2&minSpeakers=2", token, "f.wav", "audio/wav",
        Api.wav(0.5), Map.of("minSpeakers", "1"));
    assertEquals(202, form.status(), form.text());
    JsonNode f = api.awaitStatus(form.json().get("id").asText(), token, "done", WAIT);
    assertEquals("From query", f.get("title").asText());
    assertEquals(2, f.get("options").get("maxSpeakers").asInt());
    assertEquals(1, f.get("options").get("minSpeakers").asInt());
  }

  /** FormData.append('file', blob) names the file "blob": that is no title, and neither is white space nor control characters. */
  @Test
  void aBrowsersBlobAndABlankTitleGetTheDefaultTitle() {
    String token = api.user("blob@example.com");
    List<String> ids = List.of(
        api.postMultipart("/meetings", token, "blob", "audio/wav", Api.wav(0.2), Map.of()).json().get("id").asText(),
        api.postMultipart("/meetings", token, "blob", "audio/wav", Api.wav(0.2), Map.of("title", "   ")).json().get("id").asText(),
        api.postRaw("/meetings?title=%20%20", token, "audio/wav", Api.wav(0.2)).json().get("id").asText(),
        api.postRaw("/meetings?title=%0A%01%09", token, "audio/wav", Api.wav(0.2)).json().get("id").asText(),
        // QA: no-break and zero-width spaces and a byte order mark were kept as a title
        api.postRaw("/meetings?title=%C2%A0%E2%80%8B%EF%BB%BF%E3%80%80", token, "audio/wav", Api.wav(0.2)).json().get("id").asText());
    for (String id : ids) assertEquals("Untitled meeting", api.get("/meetings/" + id, token).json().get("title").asText());
    // control characters in a title become spaces
    String tabbed = api.postMultipart("/meetings", token, "a.wav", "audio/wav", Api.wav(0.2), Map.of("title", "Stand\tup\u0001\u0085\u2028 \r\n"))
        .json().get("id").asText();
    assertEquals("Stand up", api.get("/meetings/" + tabbed, token).json().get("title").asText());
    // QA: browsers and curl send '"' and a line feed in a file name as %22 and %0A, which became part of the
    // title (the line feed then becomes a space, as every control character in a title does)
    String quoted = api.postMultipart("/meetings", token, "Q3 %22go%22%0Areview.wav", "audio/wav", Api.wav(0.2), Map.of())
        .json().get("id").asText();
    assertEquals("Q3 \"go\" review", api.get("/meetings/" + quoted, token).json().get("title").asText());
    // a right-to-left override (U+202E) would show "Minutes", RLO, "fdp.exe" as "Minutesexe.pdf": bidirectional controls go
    String reordered = api.postRaw("/meetings?title=Minutes%E2%80%AEfdp.exe%E2%81%A6", token, "audio/wav", Api.wav(0.2))
        .json().get("id").asText();
    assertEquals("Minutesfdp.exe", api.get("/meetings/" + reordered, token).json().get("title").asText());
    assertEquals("inline", api.get("/meetings/" + ids.get(0) + "/audio", token).header("Content-Disposition"));
  }

  /** The audio's original name comes back safely: no header injection, RFC 5987 for names that are not ASCII. */
  @Test
  void theAudioIsServedUnderItsOriginalName() {
    String token = api.user("names@example.com");
    String accented = api.postMultipart("/meetings", token, "r\u00e9union.wav", "audio/wav", Api.wav(0.1), Map.of()).json().get("id").asText();
    String d = api.get("/meetings/" + accented + "/audio", token).header("Content-Disposition");
    assertEquals("inline; filename=\"r?union.wav\"; filename*=UTF-8''r%C3%A9union.wav", d);
    String quoted = api.postMultipart("/meetings", token, "a\\\"b.wav", "audio/wav", Api.wav(0.1), Map.of()).json().get("id").asText();
    d = api.get("/meetings/" + quoted + "/audio", token).header("Content-Disposition");
    assertEquals("inline; filename=\"a_b.wav\"", d);
    String reordered = api.postMultipart("/meetings", token, "notes\u202Evaw.exe", "audio/wav", Api.wav(0.1), Map.of())
        .json().get("id").asText();
    d = api.get("/meetings/" + reordered + "/audio", token).header("Content-Disposition");
    assertEquals("inline; filename=\"notesvaw.exe\"", d);
  }

  @Test
  void namesAndTypesTooLongForTheListStillMakeListedMeetings() {
    String token = api.user("long@example.com");
    // a title taken from a 3,000-character file name, and a declared type of 300 characters
    Res named = api.postMultipart("/meetings", token, "n".repeat(3000) + ".wav", "audio/wav", Api.wav(0.5), Map.of());
    assertEquals(202, named.status(), named.text());
    Res typed = api.postRaw("/meetings/upload", token, "audio/wav; note=" + "z".repeat(300), Api.wav(0.5));
    assertEquals(202, typed.status(), typed.text());
    JsonNode n = api.awaitStatus(named.json().get("id").asText(), token, "done", WAIT);
    assertEquals("n".repeat(500), n.get("title").asText());
    JsonNode t = api.awaitStatus(typed.json().get("id").asText(), token, "done", WAIT);
    assertEquals("audio/wav", t.get("audio").get("contentType").asText());
    // both reach the list, and so does a meeting uploaded after them (the list's projection kept going)
    Res later = api.postRaw("/meetings", token, "audio/wav", Api.wav(0.5));
    for (Res r : List.of(named, typed, later)) awaitListItem(token, r.json().get("id").asText(), "done");
  }

  @Test
  void badUploadsAreRejected() throws Exception {
    String token = api.user("bad@example.com");
    Set<String> blobsBefore = blobNames();
    assertError(api.postRaw("/meetings?numSpeakers=zero", token, "audio/wav", Api.wav(0.1)), 400, "bad_request");
    assertError(api.postRaw("/meetings?numSpeakers=%D9%A3", token, "audio/wav", Api.wav(0.1)), 400, "bad_request"); // Arabic-Indic 3
    assertError(api.postRaw("/meetings?minSpeakers=3&maxSpeakers=2", token, "audio/wav", Api.wav(0.1)), 400, "bad_request");
    // QA: a number too long for an int was "not a whole number"
    Res huge = api.postRaw("/meetings?numSpeakers=99999999999999", token, "audio/wav", Api.wav(0.1));
    assertError(huge, 400, "bad_request");
    assertTrue(huge.json().get("message").asText().contains("must be between 1 and"), huge.text());
    assertError(api.postRaw("/meetings?numSpeakers=3&maxSpeakers=2", token, "audio/wav", Api.wav(0.1)), 400, "bad_request");
    assertError(api.postMultipart("/meetings?numSpeakers=0", token, "a.wav", "audio/wav", Api.wav(0.1), Map.of()), 400, "bad_request");
    assertError(api.postMultipart("/meetings", token, "a.wav", "audio/wav", Api.wav(0.1), Map.of("numSpeakers", "1", "minSpeakers", "2")),
        400, "bad_request");
    assertError(api.postRaw("/meetings", token, "audio/wav", new byte[0]), 400, "empty_file");
    assertError(api.postRaw("/meetings", token, "text/plain", "hello".getBytes()), 415, "unsupported_media_type");
    assertError(api.postRaw("/meetings", token, "application/json", "{}".getBytes()), 415, "unsupported_media_type");
    assertError(api.postMultipart("/meetings", token, null, null, null, Map.of("title", "no file")), 400, "missing_file");
    assertError(api.postMultipart("/meetings", token, "e.wav", "audio/wav", new byte[0], Map.of()), 400, "empty_file");
    assertError(api.postMultipart("/meetings", token, "a.wav", "audio/wav", Api.wav(0.1), Map.of("maxSpeakers", "-1")), 400, "bad_request");
    // QA: a field given twice was taken silently, whichever copy came last
    Res twice = api.postRaw("/meetings/upload?numSpeakers=2&numSpeakers=3", token, "audio/wav", Api.wav(0.1));
    assertError(twice, 400, "bad_request");
    assertTrue(twice.json().get("message").asText().contains("'numSpeakers' is given twice"), twice.text());
    assertError(api.postRaw("/meetings?title=a&title=b", token, "audio/wav", Api.wav(0.1)), 400, "bad_request");
    String twiceInForm = "--b\r\nContent-Disposition: form-data; name=\"numSpeakers\"\r\n\r\n2\r\n"
        + "--b\r\nContent-Disposition: form-data; name=\"numSpeakers\"\r\n\r\n3\r\n"
        + "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n";
    java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
    body.writeBytes(twiceInForm.getBytes(StandardCharsets.UTF_8));
    body.writeBytes(Api.wav(0.1));
    body.writeBytes("\r\n--b--\r\n".getBytes(StandardCharsets.UTF_8));
    assertError(api.send(api.req("/meetings", token).header("Content-Type", "multipart/form-data; boundary=b")
        .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build()), 400, "bad_request");
    // QA: a part without a name, or without a Content-Disposition, was a 500 one time in five
    for (String head : List.of("Content-Disposition: form-data; filename=\"x.wav\"\r\n", "", "Content-Disposition: form-data; name=\"file\"; filename=\"a\"b.wav\"\r\n")) {
      byte[] nameless = ("--b\r\n" + head + "Content-Type: audio/wav\r\n\r\n" + "x".repeat(2000) + "\r\n--b--\r\n")
          .getBytes(StandardCharsets.UTF_8);
      for (int i = 0; i < 10; i++) {
        Res r = api.send(api.req("/meetings", token).header("Content-Type", "multipart/form-data; boundary=b")
            .POST(HttpRequest.BodyPublishers.ofByteArray(nameless)).build());
        assertTrue(r.status() == 400 && r.text().contains("\"error\""), head + " -> " + r.status() + " " + r.text());
      }
    }
    // QA: an empty boundary made Pekko drop the Content-Type, and the form was stored as audio
    assertError(api.postRaw("/meetings", token, "multipart/form-data; boundary=", body.toByteArray()), 400, "bad_request");
    // QA: a gzip-compressed body was stored compressed, and the meeting failed to decode
    java.io.ByteArrayOutputStream gz = new java.io.ByteArrayOutputStream();
    try (var z = new java.util.zip.GZIPOutputStream(gz)) {
      z.write(Api.wav(0.1));
    }
    assertError(api.send(api.req("/meetings/upload", token).header("Content-Type", "audio/wav").header("Content-Encoding", "gzip")
        .POST(HttpRequest.BodyPublishers.ofByteArray(gz.toByteArray())).build()), 415, "unsupported_media_type");
    // the review: a harmless slip in an audio Content-Type, and an identity coding, are no reason to refuse
    for (String[] ok : new String[][] {{"audio/x-wav;", "identity"}, {"audio/wav; charset=", "identity, identity"}}) {
      Res r = api.send(api.req("/meetings/upload", token).header("Content-Type", ok[0]).header("Content-Encoding", ok[1])
          .POST(HttpRequest.BodyPublishers.ofByteArray(Api.wav(0.1))).build());
      assertEquals(202, r.status(), ok[0] + " / " + ok[1] + ": " + r.text());
      api.delete("/meetings/" + r.json().get("id").asText(), token);
    }
    // nothing of these became a meeting, and no blob was left behind
    assertEquals(0, api.get("/meetings", token).json().get("items").size());
    Set<String> left = blobNames();
    left.removeAll(blobsBefore);
    assertEquals(Set.of(), left, "blobs the rejected uploads left");
  }

  private Set<String> blobNames() throws IOException {
    try (var files = Files.list(dataDir.resolve("blobs"))) {
      return files.map(f -> f.getFileName().toString()).collect(Collectors.toCollection(HashSet::new));
    }
  }

  @Test
  void unreadableBodiesAre400And408NotServerErrors() throws Exception {
    String token = api.user("bodies@example.com");
    // a form field over its 4 KiB limit
    Res longField = api.postMultipart("/meetings", token, "a.wav", "audio/wav", Api.wav(0.1), Map.of("title", "t".repeat(5000)));
    assertError(longField, 400, "bad_request");
    assertTrue(longField.json().get("message").asText().contains("'title'"), longField.text());
    // a body that says it is multipart and is not, or a multipart type without its boundary: on either path
    for (String path : new String[] {"/meetings", "/meetings/upload"}) {
      assertError(api.postRaw(path, token, "multipart/form-data; boundary=zz", Api.wav(0.1)), 400, "bad_request");
      assertError(api.postRaw(path, token, "multipart/form-data", Api.wav(0.1)), 400, "bad_request");
    }
    // a client that declares more than it sends and then goes quiet: 408 after the stall timeout (2 s in tests)
    try (Socket s = Api.stalledUpload(node.http.port(), token)) {
      byte[] head = s.getInputStream().readNBytes(12);
      assertEquals("HTTP/1.1 408", new String(head, StandardCharsets.US_ASCII));
    }
    // one that never stalls but sends a byte now and then (it held an upload slot for ever): 408 once a
    // stall timeout's window brought less than 64 KiB
    try (Socket s = Api.stalledUpload(node.http.port(), token)) {
      long t0 = System.nanoTime();
      String reply = null;
      s.setSoTimeout(200);
      while (reply == null && System.nanoTime() - t0 < Duration.ofSeconds(15).toNanos()) {
        try {
          s.getOutputStream().write(0);
          byte[] head = s.getInputStream().readNBytes(12);
          if (head.length > 0) reply = new String(head, StandardCharsets.US_ASCII);
        } catch (SocketTimeoutException e) {
          // no answer yet: trickle on
        } catch (IOException e) {
          reply = "closed: " + e; // the server answered and closed while this wrote
          byte[] head = s.getInputStream().readNBytes(12);
          if (head.length > 0) reply = new String(head, StandardCharsets.US_ASCII);
        }
      }
      assertEquals("HTTP/1.1 408", reply);
      assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(6).toNanos(), "cut off after the 2 s window, not at the end");
    }
    assertEquals(0, api.get("/meetings", token).json().get("items").size());
    try (var files = Files.list(dataDir.resolve("blobs"))) {
      assertTrue(files.noneMatch(f -> f.getFileName().toString().startsWith(".tmp")), "no partial upload left");
    }
  }

  /**
   * A security review held 16 uploads open at a byte a second and took the whole API down: each held
   * a thread of the pool that JDBC, bcrypt and the health probe share. Uploads now run in slots of
   * their own, at most eight per user.
   */
  @Test
  void aUserHoldsAtMostEightUploadsAtOnce() throws Exception {
    String slow = api.user("slow@example.com");
    String other = api.user("other-uploader@example.com");
    List<Socket> stalled = new ArrayList<>();
    try {
      for (int i = 0; i < 8; i++) stalled.add(Api.stalledUpload(node.http.port(), slow));
      // the eight are in their slots (they time out after 2 s in tests): an upload of this user's sent
      // before they are would take one of the eight, so wait instead of polling
      Thread.sleep(1000);
      Res tooMany = api.postRaw("/meetings", slow, "audio/wav", Api.wav(0.1));
      assertError(tooMany, 429, "too_many_uploads");
      assertEquals("5", tooMany.header("Retry-After"), "when to try again (QA: it said nothing)");
      assertEquals(202, api.postRaw("/meetings", other, "audio/wav", Api.wav(0.1)).status(), "other users upload");
      assertEquals(200, api.get("/healthz", null).status());
      for (Socket s : stalled) {
        assertEquals("HTTP/1.1 408", new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII));
      }
    } finally {
      for (Socket s : stalled) s.close();
    }
    assertEquals(202, api.postRaw("/meetings", slow, "audio/wav", Api.wav(0.1)).status(), "slots are given back");
  }

  @Test
  void notDecodableAudioEndsFailedWithAReason() {
    String token = api.user("notaudio@example.com");
    Res up = api.postMultipart("/meetings", token, "notes.txt", "text/plain", "NOTAUDIO, just text".getBytes(), Map.of());
    assertEquals(202, up.status(), up.text());
    String id = up.json().get("id").asText();
    JsonNode m = api.awaitStatus(id, token, "failed", WAIT);
    assertTrue(m.get("error").get("reason").asText().contains("not decodable"), m.toString());
    assertFalse(m.get("error").get("retryable").asBoolean());
    Res rttm = api.get("/meetings/" + id + "/rttm", token);
    assertError(rttm, 409, "meeting_failed"); // not "not_ready": it never will be
    assertTrue(rttm.json().get("message").asText().contains("not decodable"), rttm.text());
    // one attempt only: no retry loop for bad input
    assertEquals(1, worker.runs.stream().filter(r -> r.meetingId().equals(id)).map(r -> r.attemptId()).distinct().count());
    // the list's error is the detail's {reason, retryable}, not a bare string
    JsonNode item = awaitListItem(token, id, "failed");
    assertEquals(m.get("error"), item.get("error"), item.toString());
  }

  @Test
  void transientFailuresThatUseUpTheAttemptsAreRetryableInTheListToo() {
    String token = api.user("flaky@example.com");
    Res up = api.postMultipart("/meetings", token, "flaky.txt", "text/plain", "FLAKYFLAKY, the store times out".getBytes(),
        Map.of());
    assertEquals(202, up.status(), up.text());
    String id = up.json().get("id").asText();
    JsonNode m = api.awaitStatus(id, token, "failed", WAIT);
    assertTrue(m.get("error").get("retryable").asBoolean(), m.toString());
    assertTrue(m.get("error").get("reason").asText().endsWith("(gave up after 3 attempts)"), m.toString());
    JsonNode item = awaitListItem(token, id, "failed");
    assertEquals(m.get("error"), item.get("error"), item.toString());
  }

  @Test
  void uploadsOverTheLimitGet413() throws Exception {
    String token = api.user("big@example.com");
    byte[] big = new byte[(1 << 20) + 1000];
    // declared Content-Length over the limit: refused before the body is read
    assertError(api.postRaw("/meetings", token, "audio/wav", big), 413, "payload_too_large");
    assertError(api.postMultipart("/meetings", token, "x.wav", "audio/wav", big, Map.of()), 413, "payload_too_large");

    // review: nothing checked "before the body is read"; the stream's size limit alone answers 413 too, once
    // an upload slot and a blob have been taken. The early refusal is the one that names both sizes. A client
    // that waits for 100 Continue gets it instead, and sends nothing.
    try (Socket s = new Socket("127.0.0.1", node.http.port())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(("POST /meetings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\nContent-Type: audio/wav\r\n"
          + "Content-Length: " + big.length + "\r\nExpect: 100-continue\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      StringBuilder answer = new StringBuilder();
      java.io.InputStream in = s.getInputStream();
      for (int b; !answer.toString().endsWith("}") && (b = in.read()) >= 0; ) answer.append((char) b); // the JSON body's end
      String head = answer.toString();
      assertTrue(head.startsWith("HTTP/1.1 413"), head);
      assertTrue(head.contains("the upload is " + big.length + " bytes; the limit is " + (1 << 20)), head);
    }

    // chunked body (no Content-Length) that grows past the limit
    Res chunked = api.send(api.req("/meetings", token).header("Content-Type", "audio/wav")
        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big))).build());
    assertError(chunked, 413, "payload_too_large");
    assertEquals(0, api.get("/meetings", token).json().get("items").size());
    try (var files = Files.list(dataDir.resolve("blobs"))) {
      assertTrue(files.noneMatch(f -> f.getFileName().toString().startsWith(".tmp")), "no partial upload left");
    }
  }

  @Test
  void audioWithRanges() {
    String token = api.user("audio@example.com");
    byte[] wav = Api.wav(0.5);
    String id = api.postRaw("/meetings", token, "audio/wav", wav).json().get("id").asText();

    Res full = api.get("/meetings/" + id + "/audio", token);
    assertEquals(200, full.status());
    assertEquals("audio/wav", full.header("Content-Type"));
    assertEquals("bytes", full.header("Accept-Ranges"));
    assertArrayEquals(wav, full.body());

    Res part = api.send(api.req("/meetings/" + id + "/audio", token).header("Range", "bytes=10-19").GET().build());
    assertEquals(206, part.status());
    assertEquals("bytes 10-19/" + wav.length, part.header("Content-Range"));
    assertArrayEquals(Arrays.copyOfRange(wav, 10, 20), part.body());

    // validated by the stored checksum and the upload time
    String etag = full.header("ETag");
    assertEquals("\"" + api.get("/meetings/" + id, token).json().get("audio").get("sha256").asText() + "\"", etag);
    assertNotNull(full.header("Last-Modified"));
    assertEquals(304, api.send(api.req("/meetings/" + id + "/audio", token).header("If-None-Match", etag).GET().build()).status());
    assertEquals(304, api.send(api.req("/meetings/" + id + "/audio", token)
        .header("If-Modified-Since", full.header("Last-Modified")).GET().build()).status());
    Res resumed = api.send(api.req("/meetings/" + id + "/audio", token).header("Range", "bytes=10-19")
        .header("If-Range", etag).GET().build());
    assertEquals(206, resumed.status());
    assertArrayEquals(Arrays.copyOfRange(wav, 10, 20), resumed.body());
    Res changed = api.send(api.req("/meetings/" + id + "/audio", token).header("Range", "bytes=10-19")
        .header("If-Range", "\"another-file\"").GET().build());
    assertEquals(200, changed.status(), "a Range for another version gets the whole file");
    assertArrayEquals(wav, changed.body());

    Res tail = api.send(api.req("/meetings/" + id + "/audio", token).header("Range", "bytes=-100").GET().build());
    assertEquals(206, tail.status());
    assertArrayEquals(Arrays.copyOfRange(wav, wav.length - 100, wav.length), tail.body());

    Res from = api.send(api.req("/meetings/" + id + "/audio", token).header("Range", "bytes=" + (wav.length - 5) + "-").GET().build());
    assertEquals(206, from.status());
    assertEquals(5, from.body().length);

    Res bad = api.send(api.req("/meetings/" + id + "/audio", token).header("Range", "bytes=" + wav.length + "-").GET().build());
    assertError(bad, 416, "range_not_satisfiable");
    assertEquals("bytes */" + wav.length, bad.header("Content-Range"));

    // media players ask with HEAD first: the GET's headers, no body
    Res head = api.send(api.req("/meetings/" + id + "/audio", token)
        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
    assertEquals(200, head.status());
    assertEquals(String.valueOf(wav.length), head.header("Content-Length"));
    assertEquals("bytes", head.header("Accept-Ranges"));
    assertEquals(0, head.body().length);
  }

  /** An {@code <audio src>} sends no Authorization header: the owner asks for a short-lived signed URL. */
  @Test
  void aSignedAudioUrlPlaysWithoutAToken() {
    String token = api.user("signed@example.com");
    byte[] wav = Api.wav(0.5);
    String id = api.postRaw("/meetings", token, "audio/wav", wav).json().get("id").asText();
    String otherId = api.postRaw("/meetings", token, "audio/wav", Api.wav(0.2)).json().get("id").asText();

    Res signed = api.get("/meetings/" + id + "/audio-url", token);
    assertEquals(200, signed.status(), signed.text());
    String url = signed.json().get("url").asText();
    assertTrue(url.startsWith("/meetings/" + id + "/audio?exp="), url);
    assertTrue(url.contains("&gen=0&sig="), url);
    Instant expiresAt = Instant.parse(signed.json().get("expiresAt").asText());
    assertTrue(expiresAt.isAfter(Instant.now().plus(Duration.ofMinutes(59))), expiresAt.toString());

    assertArrayEquals(wav, api.get(url, null).body());
    Res part = api.send(api.req(url, null).header("Range", "bytes=10-19").GET().build());
    assertEquals(206, part.status(), part.text());
    assertArrayEquals(Arrays.copyOfRange(wav, 10, 20), part.body());

    String query = url.substring(url.indexOf('?'));
    String sig = query.substring(query.indexOf("sig=") + 4);
    String tampered = url.substring(0, url.length() - 2) + (sig.endsWith("AA") ? "BB" : "AA");
    Res refused = api.get(tampered, null);
    assertError(refused, 401, "invalid_signature");
    assertEquals("Bearer realm=\"parley\"", refused.header("WWW-Authenticate"), "a 401 says what it asks for (RFC 9110)");
    assertError(api.get("/meetings/" + otherId + "/audio" + query, null), 401, "invalid_signature");
    long exp = expiresAt.getEpochSecond();
    assertError(api.get(url.replace("exp=" + exp, "exp=" + (exp + 3600)), null), 401, "invalid_signature");
    Clock past = Clock.fixed(Instant.now().minus(Duration.ofHours(2)), ZoneOffset.UTC);
    String expired = new AudioUrls("test-secret-0123456789abcdef", Duration.ofHours(1), past).sign(id, 0).url();
    assertError(api.get(expired, null), 401, "invalid_signature");
    // a URL signed under another secret
    assertError(api.get(new AudioUrls("another-secret-0123456789", Duration.ofHours(1)).sign(id, 0).url(), null), 401, null);
    // the generation is signed: a URL cannot be moved to another one, nor do without it
    assertError(api.get(url.replace("gen=0", "gen=1"), null), 401, "invalid_signature");
    assertError(api.get(url.replace("&gen=0", ""), null), 401, "invalid_signature");

    // only the owner gets one, and only with a token; without a signature the audio still wants the token
    Res notYours = api.get("/meetings/" + id + "/audio-url", api.user("signed-other@example.com"));
    assertError(notYours, 404, "not_found");
    assertEquals("private, no-cache", notYours.header("Cache-Control"), "errors of /meetings routes too (QA)");
    assertError(api.get("/meetings/" + id + "/audio-url", null), 401, "unauthorized");
    assertError(api.get("/meetings/" + id + "/audio", null), 401, "unauthorized");
    // a bearer token is answered as a token, whatever the query holds
    assertArrayEquals(wav, api.get("/meetings/" + id + "/audio?sig=whatever&exp=1", token).body());
    assertError(api.get("/meetings/" + id + "/audio?sig=whatever", api.user("signed-third@example.com")), 404, "not_found");
    // a deleted meeting's URL opens nothing
    assertEquals(204, api.delete("/meetings/" + id, token).status());
    assertError(api.get(url, null), 404, "not_found");
  }

  /**
   * A security review uploaded an HTML page as a multipart part typed text/html and got it back from
   * /audio as text/html, script and all. Uploads come back as sound or bytes, in a sandbox.
   */
  @Test
  void anUploadedPageIsServedAsBytesInASandbox() {
    String token = api.user("page@example.com");
    byte[] page = "<html><body><script>alert(document.domain)</script></body></html>".getBytes();
    for (String[] upload : new String[][] {{"evil.html", "text/html", "application/octet-stream"},
        {"evil.svg", "image/svg+xml", "application/octet-stream"},
        {"evil.xhtml", "application/xhtml+xml", "application/octet-stream"},
        {"evil.wav", "text/html", "audio/wav"}}) { // what its name says, never what it declared
      Res up = api.postMultipart("/meetings", token, upload[0], upload[1], page, Map.of());
      assertEquals(202, up.status(), up.text());
      Res got = api.get("/meetings/" + up.json().get("id").asText() + "/audio", token);
      assertEquals(200, got.status());
      assertEquals(upload[2], got.header("Content-Type"), upload[0] + " as " + upload[1]);
      assertEquals("nosniff", got.header("X-Content-Type-Options"));
      assertEquals("sandbox; default-src 'none'", got.header("Content-Security-Policy"));
    }
    assertEquals("nosniff", api.get("/meetings", token).header("X-Content-Type-Options"), "on every response");
  }

  @Test
  void otherUsersMeetingsAreNotFound() {
    String owner = api.user("owner@example.com");
    String other = api.user("other@example.com");
    String id = api.postRaw("/meetings", owner, "audio/wav", Api.wav(0.2)).json().get("id").asText();
    for (String suffix : List.of("", "/rttm", "/history", "/audio")) {
      assertError(api.get("/meetings/" + id + suffix, other), 404, "not_found");
    }
    assertError(api.delete("/meetings/" + id, other), 404, "not_found");
    assertEquals(0, api.get("/meetings", other).json().get("items").size());
    assertError(api.get("/meetings/" + UUID.randomUUID(), owner), 404, "not_found");
    assertError(api.get("/meetings/not-a-meeting-id", owner), 404, "not_found");
    assertError(api.get("/meetings/" + UUID.randomUUID() + "/history", owner), 404, "not_found");
    assertEquals(200, api.get("/meetings/" + id, owner).status());
  }

  @Test
  void listIsNewestFirstWithCursorPagination() {
    String token = api.user("pages@example.com");
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      Res up = api.postRaw("/meetings?title=m" + i, token, "audio/wav", Api.wav(0.1));
      assertEquals(202, up.status(), up.text());
      ids.add(up.json().get("id").asText());
      // listed at once, not after the projection catches up
      JsonNode first = api.get("/meetings?limit=1", token).json().get("items").get(0);
      assertEquals(ids.get(i), first.get("id").asText());
    }
    List<String> seen = new ArrayList<>();
    String cursor = null;
    int pages = 0;
    do {
      Res r = api.get("/meetings/list?limit=2" + (cursor == null ? "" : "&cursor=" + cursor), token);
      assertEquals(200, r.status(), r.text());
      JsonNode page = r.json();
      assertTrue(page.get("items").size() <= 2);
      page.get("items").forEach(it -> seen.add(it.get("id").asText()));
      cursor = page.get("nextCursor").isNull() ? null : page.get("nextCursor").asText();
      pages++;
    } while (cursor != null);
    assertEquals(3, pages);
    List<String> newestFirst = new ArrayList<>(ids);
    Collections.reverse(newestFirst);
    assertEquals(newestFirst, seen);

    assertError(api.get("/meetings?limit=0", token), 400, "bad_request");
    assertError(api.get("/meetings?limit=abc", token), 400, "bad_request");
    assertError(api.get("/meetings?limit=%D9%A3", token), 400, "bad_request"); // Arabic-Indic 3
    assertError(api.get("/meetings?limit=1000", token), 400, "bad_request");
    assertError(api.get("/meetings?cursor=%25%25%25", token), 400, null);
    assertError(api.get("/meetings?cursor=bm9wZQ", token), 400, "bad_request");
    // given twice, either copy could be the one meant (a proxy may pass either)
    Res twice = api.get("/meetings?limit=5&limit=500", token);
    assertError(twice, 400, "bad_request");
    assertTrue(twice.json().get("message").asText().contains("'limit' is given twice"), twice.text());
    assertError(api.get("/meetings?cursor=a&cursor=b", token), 400, "bad_request");
  }

  @Test
  void deleteRemovesAudioAndRecordsIt() throws Exception {
    String token = api.user("delete@example.com");
    String id = api.postRaw("/meetings", token, "audio/wav", Api.wav(0.3)).json().get("id").asText();
    api.awaitStatus(id, token, "done", WAIT);
    assertTrue(node.blobs.size(id) >= 0, "blob stored");

    Res d = api.delete("/meetings/" + id, token);
    assertEquals(204, d.status(), d.text());
    assertEquals(-1, node.blobs.size(id), "blob removed");
    assertError(api.get("/meetings/" + id, token), 404, "not_found");
    assertError(api.get("/meetings/" + id + "/audio", token), 404, "not_found");
    assertError(api.delete("/meetings/" + id, token), 404, "not_found");
    for (JsonNode it : api.get("/meetings", token).json().get("items")) assertFalse(it.get("id").asText().equals(id));

    // the owner's history still shows the whole story, ending with the deletion
    JsonNode history = api.get("/meetings/" + id + "/history", token).json();
    assertEquals("Deleted", history.get(history.size() - 1).get("type").asText(), history.toString());
    assertFalse(history.toString().contains("centroid"), "no voiceprints, before or after a deletion");
    assertError(api.get("/meetings/" + id + "/history", api.user("delete-other@example.com")), 404, "not_found");

    // the journal keeps the whole story, ending with the deletion
    JdbcReadJournal journal = PersistenceQuery.get(node.system).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    List<EventEnvelope> events = journal.currentEventsByPersistenceId("Meeting|" + id, 0, Long.MAX_VALUE)
        .runWith(Sink.seq(), Materializer.matFromSystem(node.system)).toCompletableFuture().get();
    assertTrue(events.get(events.size() - 1).event() instanceof Meeting.Deleted, events.toString());
    assertTrue(events.stream().anyMatch(e -> e.event() instanceof Meeting.Completed));

    // and the read side drops it for good once the projection has seen the event
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      try (var c = node.ds.getConnection();
          var ps = c.prepareStatement("SELECT status, last_seq FROM meeting_list WHERE id = ?")) {
        ps.setString(1, id);
        try (var rs = ps.executeQuery()) {
          assertTrue(rs.next());
          assertEquals("deleted", rs.getString(1));
          if (rs.getLong(2) == events.size()) break;
        }
      }
      if (System.nanoTime() > deadline) fail("projection did not apply the Deleted event");
      Thread.sleep(100);
    }

    // parley.meeting.erase-deleted-after later: its events (with their tags) and its list row are gone for good
    String live = api.postRaw("/meetings", token, "audio/wav", Api.wav(0.3)).json().get("id").asText();
    String pending = api.postRaw("/meetings", token, "audio/wav", Api.wav(0.3)).json().get("id").asText();
    api.awaitStatus(live, token, "done", WAIT);
    api.awaitStatus(pending, token, "done", WAIT);
    try (var c = node.ds.getConnection();
        var ps = c.prepareStatement("UPDATE meeting_list SET status = 'deleted', last_seq = 0 WHERE id = ?")) {
      ps.setString(1, pending); // deleted in the list, its events not yet applied there: not to be erased yet
      ps.executeUpdate();
    }
    assertTrue(DeletedMeetings.erase(node.ds, Instant.now().plusSeconds(60)) >= 1);
    assertEquals(0, journalSize(id));
    assertError(api.get("/meetings/" + id + "/history", token), 404, "not_found");
    try (var c = node.ds.getConnection(); var st = c.createStatement()) {
      try (var rs = st.executeQuery("SELECT count(*) FROM meeting_list WHERE id = '" + id + "'")) {
        rs.next();
        assertEquals(0, rs.getInt(1), "list row erased");
      }
      try (var rs = st.executeQuery(
          "SELECT count(*) FROM event_tag t LEFT JOIN event_journal j ON j.ordering = t.event_id WHERE j.ordering IS NULL")) {
        rs.next();
        assertEquals(0, rs.getInt(1), "no tag outlives its event");
      }
    }
    assertTrue(journalSize(pending) > 0, "a meeting the list has not caught up with is kept");
    assertEquals(200, api.get("/meetings/" + live, token).status());
    assertTrue(journalSize(live) > 0);
  }

  private long journalSize(String meetingId) throws Exception {
    JdbcReadJournal journal = PersistenceQuery.get(node.system).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    return journal.currentEventsByPersistenceId("Meeting|" + meetingId, 0, Long.MAX_VALUE)
        .runWith(Sink.seq(), Materializer.matFromSystem(node.system)).toCompletableFuture().get().size();
  }

  @Test
  void concurrentUploadsAllBecomeMeetings() throws Exception {
    int users = 6;
    int perUser = 5;
    List<String> tokens = new ArrayList<>();
    for (int u = 0; u < users; u++) tokens.add(api.user("conc" + u + "@example.com"));
    ExecutorService pool = Executors.newFixedThreadPool(16);
    try {
      List<Future<String>> futures = new ArrayList<>();
      for (int u = 0; u < users; u++) {
        for (int i = 0; i < perUser; i++) {
          String token = tokens.get(u);
          boolean multipart = i % 2 == 0;
          Callable<String> call = () -> {
            Res r = multipart
                ? api.postMultipart("/meetings", token, "c.wav", "audio/wav", Api.wav(0.2), Map.of("title", "c"))
                : api.postRaw("/meetings/upload", token, "audio/wav", Api.wav(0.2));
            if (r.status() != 202) throw new AssertionError(r.status() + " " + r.text());
            return r.json().get("id").asText();
          };
          futures.add(pool.submit(call));
        }
      }
      Set<String> ids = new HashSet<>();
      for (Future<String> f : futures) ids.add(f.get());
      assertEquals(users * perUser, ids.size());
      for (String token : tokens) {
        JsonNode items = api.get("/meetings?limit=100", token).json().get("items");
        assertEquals(perUser, items.size(), items.toString());
        for (JsonNode it : items) assertTrue(ids.contains(it.get("id").asText()));
      }
      for (String token : tokens) {
        for (JsonNode it : api.get("/meetings?limit=100", token).json().get("items")) {
          api.awaitStatus(it.get("id").asText(), token, "done", WAIT);
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private JsonNode awaitListItem(String token, String id, String status) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    JsonNode last = null;
    while (System.nanoTime() < deadline) {
      for (JsonNode it : api.get("/meetings?limit=100", token).json().get("items")) {
        if (it.get("id").asText().equals(id)) {
          last = it;
          if (status.equals(it.get("status").asText())) return it;
        }
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    }
    fail("list item " + id + " did not reach " + status + "; last " + last);
    return null;
  }
}
