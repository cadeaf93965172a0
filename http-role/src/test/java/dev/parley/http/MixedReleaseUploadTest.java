package dev.parley.http;

import static dev.parley.http.testutil.Api.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.parley.http.meeting.UploadIds;
import dev.parley.http.testutil.Api;
import dev.parley.http.testutil.Api.Res;
import dev.parley.http.testutil.FakeWorker;
import dev.parley.http.testutil.Postgres;
import dev.parley.http.testutil.TestNode;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rolling upgrade from a release before keyed uploads: while an http node of that release is a
 * member, an upload with an {@code Idempotency-Key} is refused before its body is stored (that node
 * would take the keyed blob for the audio of a meeting never created, and its sweep would remove
 * it), uploads without a key go on, and keyed ones are taken again once the older node has left.
 * Two real http nodes on PostgreSQL; the older one announces the release that came before.
 */
class MixedReleaseUploadTest {
  private static final String OLDER = "0.1.0-SNAPSHOT";

  Postgres pg;
  TestNode current;
  TestNode older;

  @AfterEach
  void stop() {
    if (older != null) older.close();
    if (current != null) current.close();
    if (pg != null) pg.close();
  }

  @Test
  void keyedUploadsWaitWhileAnHttpNodeOfAnOlderReleaseIsAMember(@TempDir Path dir) throws Exception {
    pg = Postgres.freshSchema();
    Path currentDir = dir.resolve("current");
    current = TestNode.start("mixed", currentDir, pg.db, List.of("http", "gpu"), null, new FakeWorker().factory());
    older = TestNode.start("mixed", dir.resolve("older"), pg.db, List.of("http"),
        "pekko.cluster.app-version = \"" + OLDER + "\"", null, Cluster.get(current.system).selfMember().address());
    awaitHttpMembers(current, 2);

    Api api = new Api(current.base);
    String token = api.user("mixed@example.com");
    List<String> before = blobs(currentDir);
    Res refused = keyed(api, token, "during-the-upgrade");
    assertError(refused, 503, "upgrade_in_progress");
    assertEquals("60", refused.header("Retry-After"));
    assertTrue(refused.text().contains(OLDER), refused.text());
    assertEquals(before, blobs(currentDir), "a refused keyed upload stores nothing");

    Res unkeyed = api.postRaw("/meetings", token, "audio/wav", Api.wav(0.3));
    assertEquals(202, unkeyed.status(), unkeyed.text());

    older.close();
    older = null;
    awaitHttpMembers(current, 1);
    Res after = keyed(api, token, "during-the-upgrade");
    assertEquals(202, after.status(), after.text());
    api.awaitStatus(after.json().get("id").asText(), token, "done", Duration.ofSeconds(15));
  }

  private static Res keyed(Api api, String token, String key) {
    return api.send(api.req("/meetings", token).header("Content-Type", "audio/wav")
        .header(UploadIds.IDEMPOTENCY_KEY, key)
        .POST(HttpRequest.BodyPublishers.ofByteArray(Api.wav(0.3))).build());
  }

  /** Waits until {@code node} sees exactly {@code n} http members, all Up. */
  private static void awaitHttpMembers(TestNode node, int n) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    List<Member> http = List.of();
    while (System.nanoTime() < deadline) {
      http = StreamSupport.stream(Cluster.get(node.system).state().getMembers().spliterator(), false)
          .filter(m -> m.hasRole("http")).toList();
      if (http.size() == n && http.stream().allMatch(m -> m.status().equals(MemberStatus.up()))) return;
      Thread.sleep(100);
    }
    throw new AssertionError("expected " + n + " http members Up, saw " + http);
  }

  private static List<String> blobs(Path dataDir) throws Exception {
    Path dir = dataDir.resolve("blobs");
    if (!Files.isDirectory(dir)) return List.of();
    try (var files = Files.list(dir)) {
      return files.map(f -> f.getFileName().toString()).filter(x -> !x.startsWith(".")).sorted()
          .collect(Collectors.toList());
    }
  }
}
