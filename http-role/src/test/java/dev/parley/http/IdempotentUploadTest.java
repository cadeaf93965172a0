package dev.parley.http;

import static dev.parley.http.testutil.Api.assertError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.http.blob.OrphanedBlobs;
import dev.parley.http.meeting.list.MeetingListRepository;
import dev.parley.http.testutil.Api;
import dev.parley.http.testutil.Api.Res;
import dev.parley.http.testutil.FakeWorker;
import dev.parley.http.testutil.Postgres;
import dev.parley.http.testutil.TestNode;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client whose upload got no answer (its http node died after creating the meeting, the
 * connection dropped) sends it again; with the same {@code Idempotency-Key} it gets the meeting the
 * first try made, not a second one. On a one-node cluster over the real PostgreSQL, file blobs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class IdempotentUploadTest {
  private static final Duration WAIT = Duration.ofSeconds(15);
  /** A version 8 UUID, as the ids of keyed uploads are. */
  private static final String KEYED_ID = "^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$";

  Path dataDir;
  Postgres pg;
  TestNode node;
  Api api;

  @BeforeAll
  void start(@TempDir Path dir) {
    dataDir = dir;
    pg = Postgres.freshSchema();
    node = TestNode.start("idempotent", dataDir, pg.db, List.of("http", "gpu"), null, new FakeWorker().factory());
    api = new Api(node.base);
  }

  @AfterAll
  void stop() {
    if (node != null) node.close();
    if (pg != null) pg.close();
  }

  @Test
  void theSameKeyTwiceIsOneMeetingAndTheRepeatSaysItIsAReplay() throws Exception {
    String token = api.user("twice@example.com");
    String key = UUID.randomUUID().toString();
    byte[] wav = Api.wav(0.5);

    Res first = raw(token, key, wav);
    assertEquals(202, first.status(), first.text());
    assertNull(first.header("Idempotent-Replayed"), "a first upload is no replay");
    String id = first.json().get("id").asText();
    assertTrue(id.matches(KEYED_ID), id);

    Res again = raw(token, key, wav);
    assertEquals(202, again.status(), again.text());
    assertEquals("true", again.header("Idempotent-Replayed"));
    assertEquals(id, again.json().get("id").asText());
    assertEquals(first.json().fieldNames().next(), again.json().fieldNames().next(), "the same body shape");
    assertEquals("/meetings/" + id, again.header("Location"));
    // a multipart try of the same bytes is the same upload too
    Res form = send(api.multipart("/meetings/upload", token, "a.wav", "audio/wav", wav, Map.of()), key);
    assertEquals(202, form.status(), form.text());
    assertEquals("true", form.header("Idempotent-Replayed"));
    assertEquals(id, form.json().get("id").asText());

    assertTheOnlyMeeting(token, id, wav);
  }

  @Test
  void theSameKeyWithOtherBytesIs422AndLeavesTheFirstMeetingAlone() throws Exception {
    String token = api.user("reused@example.com");
    String key = "order-42";
    byte[] wav = Api.wav(0.5);
    Res first = send(api.multipart("/meetings", token, "a.wav", "audio/wav", wav, Map.of()), key);
    assertEquals(202, first.status(), first.text());
    String id = first.json().get("id").asText();

    assertError(raw(token, key, Api.wav(0.7)), 422, "idempotency_key_reused");
    assertError(send(api.multipart("/meetings", token, "b.wav", "audio/wav", Api.wav(0.3), Map.of()), key),
        422, "idempotency_key_reused");

    assertEquals(List.of(id), listedIds(token));
    assertEquals(1, blobsOf(id).size(), "the refused tries' audio is removed: " + blobsOf(id));
    JsonNode m = api.awaitStatus(id, token, "done", WAIT);
    assertEquals(wav.length, m.get("audio").get("size").asLong());
    assertArrayEquals(wav, api.get("/meetings/" + id + "/audio", token).body());
  }

  @Test
  void twoUsersWithOneKeyGetTwoMeetings() {
    String ada = api.user("ada-key@example.com");
    String bob = api.user("bob-key@example.com");
    byte[] wav = Api.wav(0.5);
    Res a = raw(ada, "shared-key", wav);
    Res b = raw(bob, "shared-key", wav);
    assertEquals(202, a.status(), a.text());
    assertEquals(202, b.status(), b.text());
    assertNull(b.header("Idempotent-Replayed"));
    String idA = a.json().get("id").asText();
    String idB = b.json().get("id").asText();
    assertNotEquals(idA, idB);
    assertEquals(List.of(idA), listedIds(ada));
    assertEquals(List.of(idB), listedIds(bob));
    assertEquals(404, api.get("/meetings/" + idA, bob).status());
  }

  @Test
  void anInvalidKeyIs400BeforeTheBodyIsStored() throws Exception {
    String token = api.user("badkey@example.com");
    List<String> before = allBlobs();
    for (String key : List.of("", "a b", "x".repeat(256))) {
      Res r = raw(token, key, Api.wav(0.1));
      assertEquals(400, r.status(), () -> "'" + key + "': " + r.text());
      assertError(r, 400, "invalid_idempotency_key");
    }
    // the JDK client sends a non-ASCII header as '?': the bytes go over a socket
    String answer = rawSocketUpload(token, "caf\u00e9");
    assertTrue(answer.startsWith("HTTP/1.1 400") && answer.contains("invalid_idempotency_key"), answer);
    assertError(send(api.multipart("/meetings", token, "a.wav", "audio/wav", Api.wav(0.1), Map.of()), "a\tb"),
        400, "invalid_idempotency_key");
    // two keys: which one the client meant (a proxy may pass either) is unknowable
    assertError(send(api.req("/meetings", token).header("Content-Type", "audio/wav").header("Idempotency-Key", "k1")
        .POST(HttpRequest.BodyPublishers.ofByteArray(Api.wav(0.1))), "k2"), 400, "invalid_idempotency_key");
    assertEquals(List.of(), listedIds(token));
    assertEquals(before, allBlobs());
    // the longest allowed, every visible ASCII character
    String longest = "!~\"\\".repeat(63) + "abc";
    assertEquals(255, longest.length());
    assertEquals(202, raw(token, longest, Api.wav(0.1)).status());
  }

  @Test
  void aKeyWhoseMeetingWasDeletedIs409() throws Exception {
    String token = api.user("deleted-key@example.com");
    String key = UUID.randomUUID().toString();
    byte[] wav = Api.wav(0.5);
    String id = raw(token, key, wav).json().get("id").asText();
    api.awaitStatus(id, token, "done", WAIT);
    assertEquals(204, api.delete("/meetings/" + id, token).status());

    assertError(raw(token, key, wav), 409, "meeting_deleted");
    assertEquals(List.of(), listedIds(token));
    assertEquals(List.of(), blobsOf(id), "neither the meeting's audio nor the refused try's is left");
  }

  @Test
  void withoutAKeyEveryUploadIsANewMeeting() {
    String token = api.user("nokey@example.com");
    byte[] wav = Api.wav(0.5);
    Res a = api.postRaw("/meetings", token, "audio/wav", wav);
    Res b = api.postRaw("/meetings", token, "audio/wav", wav);
    assertEquals(202, a.status(), a.text());
    assertEquals(202, b.status(), b.text());
    assertNull(b.header("Idempotent-Replayed"));
    String idA = a.json().get("id").asText();
    String idB = b.json().get("id").asText();
    assertNotEquals(idA, idB);
    assertTrue(idA.charAt(14) == '4' && idB.charAt(14) == '4', "random (version 4) ids: " + idA + ", " + idB);
    assertEquals(List.of(idA, idB).stream().sorted().toList(), listedIds(token).stream().sorted().toList());
  }

  @Test
  void concurrentTriesWithOneKeyMakeOneMeetingAndTheLosersAudioGoes() throws Exception {
    String token = api.user("racing@example.com");
    String key = UUID.randomUUID().toString();
    byte[] wav = Api.wav(2.0);
    int tries = 4;
    CyclicBarrier start = new CyclicBarrier(tries);
    ExecutorService pool = Executors.newFixedThreadPool(tries);
    List<Res> answers = new ArrayList<>();
    try {
      List<Future<Res>> running = new ArrayList<>();
      for (int i = 0; i < tries; i++) {
        running.add(pool.submit(() -> {
          start.await();
          return raw(token, key, wav);
        }));
      }
      for (Future<Res> f : running) answers.add(f.get());
    } finally {
      pool.shutdownNow();
    }
    for (Res r : answers) assertEquals(202, r.status(), r.text());
    String id = answers.get(0).json().get("id").asText();
    for (Res r : answers) assertEquals(id, r.json().get("id").asText());
    assertEquals(1, answers.stream().filter(r -> r.header("Idempotent-Replayed") == null).count(),
        "exactly one try made the meeting");
    assertTheOnlyMeeting(token, id, wav);
  }

  /**
   * A try whose removal failed leaves {@code <id>.<suffix>}; the orphan sweep tells it from the
   * meeting's audio by the key the journal records, on the real journal.
   */
  @Test
  void theSweepReadsTheMeetingsAudioKeyFromTheJournal() throws Exception {
    String token = api.user("sweep-key@example.com");
    String id = raw(token, UUID.randomUUID().toString(), Api.wav(0.5)).json().get("id").asText();
    List<String> stored = blobsOf(id);
    assertEquals(1, stored.size(), stored.toString());
    JdbcReadJournal journal =
        PersistenceQuery.get(node.system).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    OrphanedBlobs.Meetings meetings =
        OrphanedBlobs.meetings(node.system, new MeetingListRepository(node.ds, pg.db), journal);
    assertEquals(Optional.of(stored.get(0)), meetings.audioKey(id));
    assertEquals(Optional.empty(), meetings.audioKey(UUID.randomUUID().toString()));
  }

  // ---------------------------------------------------------------- helpers

  private Res raw(String token, String key, byte[] body) {
    return send(api.req("/meetings", token).header("Content-Type", "audio/wav")
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)), key);
  }

  /** The status line and headers of a raw upload whose Idempotency-Key is {@code key} in UTF-8. */
  private String rawSocketUpload(String token, String key) throws Exception {
    byte[] body = Api.wav(0.1);
    try (Socket s = new Socket("127.0.0.1", node.http.port())) {
      s.setSoTimeout(15_000);
      OutputStream out = s.getOutputStream();
      out.write(("POST /meetings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token
          + "\r\nContent-Type: audio/wav\r\nContent-Length: " + body.length + "\r\nConnection: close\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.write(("Idempotency-Key: " + key + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
      out.write(body);
      out.flush();
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private Res send(HttpRequest.Builder request, String key) {
    return api.send((key == null ? request : request.header("Idempotency-Key", key)).build());
  }

  /** {@code id} is the user's only meeting; its one blob (the other tries' were removed) is {@code wav}, and it runs. */
  private void assertTheOnlyMeeting(String token, String id, byte[] wav) throws Exception {
    assertEquals(List.of(id), listedIds(token));
    assertEquals(1, blobsOf(id).size(), "the other tries' audio is removed: " + blobsOf(id));
    api.awaitStatus(id, token, "done", WAIT);
    assertArrayEquals(wav, api.get("/meetings/" + id + "/audio", token).body());
  }

  private List<String> listedIds(String token) {
    Res r = api.get("/meetings?limit=100", token);
    assertEquals(200, r.status(), r.text());
    List<String> ids = new ArrayList<>();
    r.json().get("items").forEach(i -> ids.add(i.get("id").asText()));
    return ids;
  }

  /** The blobs of meeting {@code id}: its audio and any try's left behind. */
  private List<String> blobsOf(String id) throws Exception {
    return allBlobs().stream().filter(k -> k.equals(id) || k.startsWith(id + ".")).toList();
  }

  private List<String> allBlobs() throws Exception {
    try (var files = Files.list(dataDir.resolve("blobs"))) {
      return files.map(f -> f.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted()
          .collect(Collectors.toList());
    }
  }
}
