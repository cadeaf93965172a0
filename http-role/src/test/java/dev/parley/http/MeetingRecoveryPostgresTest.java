package dev.parley.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.http.db.Database;
import dev.parley.http.meeting.list.MeetingListRepository;
import dev.parley.http.testutil.Api;
import dev.parley.http.testutil.FakeWorker;
import dev.parley.http.testutil.Postgres;
import dev.parley.http.testutil.TestNode;
import dev.parley.protocol.worker.InferenceProtocol.RunJob;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Meetings survive an http node restart on PostgreSQL: meetings queued on an http-only node (no gpu
 * node anywhere) resume by themselves on the next start, without any request touching them, and
 * the meeting list is rebuilt from the journal after being wiped.
 */
class MeetingRecoveryPostgresTest {

  @Test
  void queuedMeetingsResumeAfterRestartAndTheListIsRebuilt(@TempDir Path dataDir) throws Exception {
    try (Postgres pg = Postgres.freshSchema()) {
      String token;
      List<String> ids;
      List<String> cluster;
      try (TestNode first = TestNode.start("recovery-a", dataDir, pg.db, List.of("http"), null, null)) {
        Api api = new Api(first.base);
        token = api.user("restart@example.com");
        ids = List.of(
            api.postRaw("/meetings?title=one", token, "audio/wav", Api.wav(0.4)).json().get("id").asText(),
            api.postRaw("/meetings?title=two", token, "audio/wav", Api.wav(0.6)).json().get("id").asText());
        for (String id : ids) {
          JsonNode m = api.get("/meetings/" + id, token).json();
          assertEquals("queued", m.get("status").asText());
          assertEquals("queued", m.get("stage").asText(), "no gpu node holds it yet: its stage reads as its status");
        }
        JsonNode c = api.get("/cluster", null).json();
        assertEquals(0, c.get("gpuNodes").asInt());
        cluster = List.of(c.toString());
        // waits durably: nothing happens without a gpu node
        Thread.sleep(1000);
        for (String id : ids) assertEquals("queued", api.get("/meetings/" + id, token).json().get("status").asText());
      }

      // wipe the read side: the projection must rebuild it from the events
      try (var ds = Database.create(pg.db)) {
        new MeetingListRepository(ds, pg.db).reset(MeetingListRepository.PROJECTION);
      }

      FakeWorker worker = new FakeWorker();
      try (TestNode second = TestNode.start("recovery-b", dataDir, pg.db, List.of("http", "gpu"), null, worker.factory())) {
        // remembered entities restart the meetings; they re-send their attempt on their own
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (worker.runs.stream().map(RunJob::meetingId).collect(Collectors.toSet()).size() < ids.size()) {
          if (System.nanoTime() > deadline) throw new AssertionError("meetings did not resume: " + worker.runs + " / " + cluster);
          Thread.sleep(100);
        }
        Set<String> resumed = worker.runs.stream().map(RunJob::meetingId).collect(Collectors.toSet());
        assertEquals(Set.copyOf(ids), resumed);
        assertTrue(worker.runs.stream().allMatch(r -> r.attempt() == 1), "the same first attempt, re-sent");

        Api api = new Api(second.base);
        // the token of the first node's secret is still valid (same configured secret)
        for (String id : ids) {
          JsonNode m = api.awaitStatus(id, token, "done", Duration.ofSeconds(15));
          assertEquals(2, m.get("segments").size());
        }
        // rebuilt list: both meetings, newest first, with their final status
        long listDeadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        JsonNode items;
        while (true) {
          items = api.get("/meetings", token).json().get("items");
          if (items.size() == 2 && "done".equals(items.get(0).get("status").asText())
              && "done".equals(items.get(1).get("status").asText())) break;
          if (System.nanoTime() > listDeadline) throw new AssertionError("list not rebuilt: " + items);
          Thread.sleep(100);
        }
        assertEquals(ids.get(1), items.get(0).get("id").asText());
        assertEquals("two", items.get(0).get("title").asText());
        assertEquals(0.6, items.get(0).get("duration").asDouble(), 1e-6);
      }
    }
  }
}
