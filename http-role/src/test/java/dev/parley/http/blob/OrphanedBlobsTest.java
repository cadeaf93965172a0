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
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A chaos review deleted a meeting while its blob directory was read-only: DELETE said 204 and the
 * audio stayed for good; a node killed right after storing an upload left audio no meeting points
 * at. The sweep removes both, and nothing whose meeting lives or whose fate it cannot tell.
 */
class OrphanedBlobsTest {
  @Test
  void removesTheAudioOfDeletedAndNeverCreatedMeetingsOnly(@TempDir Path dir) throws Exception {
    FileBlobStore blobs = new FileBlobStore(dir);
    Instant old = Instant.now().minus(Duration.ofHours(2));
    for (String key : List.of("live", "deleted", "never", "behind", "unreadable", "fresh")) {
      blobs.put(key, new ByteArrayInputStream(new byte[] {1, 2, 3}));
      if (!key.equals("fresh")) Files.setLastModifiedTime(dir.resolve(key), FileTime.from(old));
    }
    Path partial = Files.setLastModifiedTime(Files.write(dir.resolve(".tmp-upload"), new byte[3]), FileTime.from(old));

    Map<String, String> list = Map.of("live", "done", "deleted", "deleted");
    Set<String> journal = Set.of("live", "deleted", "behind"); // "behind": created, the list not yet written
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
    };
    OrphanedBlobs.Sweep s = OrphanedBlobs.sweep(blobs, meetings, Instant.now().minus(OrphanedBlobs.MIN_AGE));

    assertEquals(new OrphanedBlobs.Sweep(1, 1, 2, 0), s);
    assertEquals(-1, blobs.size("deleted"));
    assertEquals(-1, blobs.size("never"));
    for (String kept : List.of("live", "behind", "unreadable", "fresh")) assertEquals(3, blobs.size(kept), kept);
    assertTrue(Files.exists(partial), "a partial upload is the upload sweep's, not this one's");
  }
}
