package dev.parley.http.blob;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.parley.protocol.blob.FileBlobStore;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A chaos review deleted a meeting while its blob directory was read-only: DELETE said 204 and the
 * audio stayed for good; a node killed right after storing an upload left audio no meeting points
 * at. The sweep removes both, and nothing whose meeting lives or whose fate it cannot tell. A
 * repeated upload (same Idempotency-Key) stores its body as {@code <id>.<suffix>}: the sweep removes
 * the one its meeting's journal does not name, and never the one it names.
 */
class OrphanedBlobsTest {
  @Test
  void removesTheAudioOfDeletedAndNeverCreatedMeetingsOnly(@TempDir Path dir) throws Exception {
    FileBlobStore blobs = new FileBlobStore(dir);
    Instant old = Instant.now().minus(Duration.ofHours(2));
    List<String> keys = List.of("live", "deleted", "never", "behind", "unreadable", "fresh",
        "k.used", "k.repeat", "kb.used", "kb.repeat", "kd.used", "kn.try", "ku.a", "ku.b", "kl.try", "kx.a", "kx.b");
    for (String key : keys) {
      blobs.put(key, new ByteArrayInputStream(new byte[] {1, 2, 3}));
      if (!key.equals("fresh")) Files.setLastModifiedTime(dir.resolve(key), FileTime.from(old));
    }
    Path partial = Files.setLastModifiedTime(Files.write(dir.resolve(".tmp-upload"), new byte[3]), FileTime.from(old));

    Map<String, String> list = Map.of("live", "done", "deleted", "deleted", "k", "queued", "kd", "deleted", "ku", "done",
        "kl", "done", "kx", "done");
    // "behind", "kb": created, the list not yet written
    // "ku": two tries' blobs, the journal naming neither; "kx": two, the journal unreadable: both kept
    Set<String> journal = Set.of("live", "deleted", "behind", "k", "kb", "kd", "ku", "kl", "kx");
    // "kl": a meeting's only blob is its audio, whatever a journal would say: the journal is not read for it
    Map<String, String> audioKeys = Map.of("live", "live", "deleted", "deleted", "behind", "behind",
        "k", "k.used", "kb", "kb.used", "kd", "kd.used", "kl", "kl.other");
    Set<String> journalReads = new HashSet<>();
    OrphanedBlobs.Meetings meetings = new OrphanedBlobs.Meetings() {
      @Override
      public Optional<String> listStatus(String id) {
        if (id.equals("unreadable")) throw new IllegalStateException("database away");
        return Optional.ofNullable(list.get(id));
      }

      @Override
      public boolean hasEvents(String id) {
        return journal.contains(id);
      }

      @Override
      public Optional<String> audioKey(String id) {
        journalReads.add(id);
        if (id.equals("kx")) throw new IllegalStateException("journal away");
        return Optional.ofNullable(audioKeys.get(id));
      }
    };
    OrphanedBlobs.Sweep s = OrphanedBlobs.sweep(blobs, meetings, Instant.now().minus(OrphanedBlobs.MIN_AGE));

    assertEquals(new OrphanedBlobs.Sweep(2, 2, 2, 5, 0), s);
    for (String gone : List.of("deleted", "never", "k.repeat", "kb.repeat", "kd.used", "kn.try")) {
      assertEquals(-1, blobs.size(gone), gone);
    }
    for (String kept : List.of("live", "behind", "unreadable", "fresh", "k.used", "kb.used", "ku.a", "ku.b", "kl.try",
        "kx.a", "kx.b")) {
      assertEquals(3, blobs.size(kept), kept);
    }
    assertEquals(Set.of("k", "kb", "ku", "kx"), journalReads, "the journal is read only for meetings with more than one blob");
    assertTrue(Files.exists(partial), "a partial upload is the upload sweep's, not this one's");
  }
}
