package dev.parley.http.blob;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.zaxxer.hikari.HikariDataSource;
import dev.parley.http.db.Database;
import dev.parley.http.db.Schema;
import dev.parley.http.testutil.Postgres;
import dev.parley.protocol.blob.BlobStore;
import dev.parley.protocol.blob.FileBlobStore;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** Both blob stores through {@link BlobStores#create}; the database one on the real PostgreSQL. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BlobStoresTest {
  Postgres pg;
  HikariDataSource ds;

  @BeforeAll
  void start() {
    pg = Postgres.freshSchema();
    ds = Database.create(pg.db);
    Schema.migrate(pg.db);
  }

  @AfterAll
  void stop() {
    ds.close();
    pg.close();
  }

  static byte[] random(int n) {
    byte[] b = new byte[n];
    new Random(n).nextBytes(b);
    return b;
  }

  static String sha(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  /** An input stream that fails if anyone reads it whole at once: put must stream. */
  static InputStream trickle(byte[] data) {
    return new ByteArrayInputStream(data) {
      @Override
      public synchronized int read(byte[] b, int off, int len) {
        return super.read(b, off, Math.min(len, 700));
      }

      @Override
      public byte[] readAllBytes() {
        throw new AssertionError("the whole blob was read into memory");
      }
    };
  }

  void roundTrip(BlobStore store, Path scratch) throws Exception {
    for (int size : new int[] {1, 1024, 1025, 5000, 3 * 1024}) {
      String key = "k" + size;
      byte[] data = random(size);
      BlobStore.BlobInfo info = store.put(key, trickle(data));
      assertEquals(size, info.size());
      assertEquals(sha(data), info.sha256());
      assertEquals(size, store.size(key));
      try (InputStream in = store.open(key)) {
        assertArrayEquals(data, in.readAllBytes());
      }
      try (InputStream in = store.open(key)) {
        long skip = Math.min(size, 1500);
        in.skipNBytes(skip);
        assertArrayEquals(Arrays.copyOfRange(data, (int) skip, size), in.readAllBytes());
      }
      Path copy = store.materialize(key, scratch);
      assertArrayEquals(data, Files.readAllBytes(copy));
    }
    // replace
    byte[] other = random(77);
    store.put("k1", new ByteArrayInputStream(other));
    try (InputStream in = store.open("k1")) {
      assertArrayEquals(other, in.readAllBytes());
    }
    // empty
    assertEquals(0, store.put("empty", new ByteArrayInputStream(new byte[0])).size());
    assertEquals(0, store.size("empty"));
    // delete is idempotent; absent blobs
    store.delete("k5000");
    store.delete("k5000");
    assertEquals(-1, store.size("k5000"));
    assertThrows(NoSuchFileException.class, () -> store.open("k5000"));
    assertThrows(NoSuchFileException.class, () -> store.open("never"));
  }

  @Test
  void databaseStoreStreamsInChunks(@TempDir Path scratch) throws Exception {
    BlobStore store = BlobStores.create(BlobStores.Kind.parse("postgres"), Path.of("x"), 1024, ds);
    JdbcBlobStore db = assertInstanceOf(JdbcBlobStore.class, store);
    assertEquals(1024, db.chunkSize());
    roundTrip(store, scratch);
    try (var c = ds.getConnection(); var rs = c.createStatement().executeQuery(
        "SELECT COUNT(*), MAX(LENGTH(data)) FROM blob_chunk WHERE blob_key = 'k3072'")) {
      rs.next();
      assertEquals(3, rs.getInt(1));
      assertEquals(1024, rs.getInt(2));
    }
  }

  @Test
  void failedPutLeavesNothing() throws Exception {
    BlobStore store = new JdbcBlobStore(ds, 1024);
    InputStream broken = new InputStream() {
      int n;

      @Override
      public int read() throws IOException {
        if (n++ > 3000) throw new IOException("client went away");
        return 7;
      }
    };
    assertThrows(IOException.class, () -> store.put("broken", broken));
    assertEquals(-1, store.size("broken"));
    try (var c = ds.getConnection(); var rs = c.createStatement().executeQuery(
        "SELECT COUNT(*) FROM blob_chunk WHERE blob_key = 'broken'")) {
      rs.next();
      assertEquals(0, rs.getInt(1));
    }
  }

  /**
   * A review: the chunks of an upload whose node was killed stayed for good (each commit is its
   * own, and blob_object, written last, never came). They go once no chunk has come for an hour.
   */
  @Test
  void databaseStoreRemovesTheChunksOfAnUploadCutOffByACrash() throws Exception {
    JdbcBlobStore store = new JdbcBlobStore(ds, 1024);
    store.put("complete", new ByteArrayInputStream(random(3000)));
    long now = System.currentTimeMillis();
    try (var c = ds.getConnection(); var ps = c.prepareStatement(
        "INSERT INTO blob_chunk (blob_key, chunk_index, data, written_at) VALUES (?, ?, ?, ?)")) {
      Object[][] chunks = {
        {"cut", 0, now - 75 * 60_000L}, {"cut", 1, now - 61 * 60_000L}, // the node died 61 minutes ago
        {"running", 0, now - 90 * 60_000L}, {"running", 1, now - 60_000L}, // a slow upload still going
        {"before-written-at", 0, null}, // left by a release that did not keep the time
      };
      for (Object[] chunk : chunks) {
        ps.setString(1, (String) chunk[0]);
        ps.setInt(2, (Integer) chunk[1]);
        ps.setBytes(3, new byte[1024]);
        ps.setObject(4, chunk[2], Types.BIGINT);
        ps.executeUpdate();
      }
    }
    assertEquals(2, store.removeAbandonedUploads());
    try (var c = ds.getConnection(); var rs = c.createStatement().executeQuery(
        "SELECT blob_key, COUNT(*) FROM blob_chunk"
            + " WHERE blob_key IN ('complete', 'cut', 'running', 'before-written-at') GROUP BY blob_key")) {
      Map<String, Integer> left = new TreeMap<>();
      while (rs.next()) left.put(rs.getString(1), rs.getInt(2));
      assertEquals(Map.of("complete", 3, "running", 2), left);
    }
    assertArrayEquals(random(3000), store.open("complete").readAllBytes());
    assertEquals(0, store.removeAbandonedUploads());
    store.delete("running");
    store.delete("complete");
  }

  /**
   * A second review: an upload slower than the sweep's hour per chunk would lose its first chunks
   * and then be completed without them. put refuses to complete a blob whose chunks are not all there.
   */
  @Test
  void databaseStoreRefusesToCompleteABlobWhoseChunksWereRemoved() throws Exception {
    JdbcBlobStore store = new JdbcBlobStore(ds, 1024);
    InputStream swept = new InputStream() {
      int n;

      @Override
      public int read() throws IOException {
        if (n == 2500) { // two chunks are in: the sweep takes them as abandoned
          try (var c = ds.getConnection()) {
            c.createStatement().execute("DELETE FROM blob_chunk WHERE blob_key = 'swept'");
          } catch (SQLException e) {
            throw new IOException(e);
          }
        }
        return n++ < 4000 ? 7 : -1;
      }
    };
    IOException e = assertThrows(IOException.class, () -> store.put("swept", swept));
    assertTrue(e.getMessage().contains("2 of the 4 chunks of swept are gone"), e.getMessage());
    assertEquals(-1, store.size("swept"), "no blob without its head");
  }

  @Test
  void fileStoreUnderDataDir(@TempDir Path dir) throws Exception {
    BlobStore store = BlobStores.create(BlobStores.Kind.parse("file"), dir, 1024, null);
    assertInstanceOf(FileBlobStore.class, store);
    roundTrip(store, dir.resolve("scratch"));
    assertTrue(Files.exists(dir.resolve("blobs").resolve("k1")));
    assertFalse(Files.exists(dir.resolve("blobs").resolve("k5000")));
  }

  @Test
  void bothStoresListTheirBlobsByAge(@TempDir Path dir) throws Exception {
    for (BlobStore store : List.of(new FileBlobStore(dir), new JdbcBlobStore(ds, 1024))) {
      store.put("aged-key", new ByteArrayInputStream(random(10)));
      assertTrue(store.keysWrittenBefore(Instant.now().plusSeconds(5)).contains("aged-key"), store.toString());
      assertFalse(store.keysWrittenBefore(Instant.now().minusSeconds(3600)).contains("aged-key"), store.toString());
      store.delete("aged-key");
    }
  }

  /** A 202 names audio that survives a power cut: the file is forced before the rename, the directory after it. */
  @Test
  void fileStoreForcesTheFileBeforeItAppearsAndTheRenameAfter(@TempDir Path dir) throws Exception {
    List<String> steps = new ArrayList<>();
    Path root = dir.resolve("blobs");
    BlobStore store = new FileBlobStore(root, new FileBlobStore.Sync() {
      @Override
      public void file(FileChannel channel) throws IOException {
        steps.add("file " + channel.size() + " bytes, visible " + Files.exists(root.resolve("forced-key")));
        FileBlobStore.Sync.FSYNC.file(channel);
      }

      @Override
      public void directory(Path d) {
        steps.add("directory " + root.relativize(d) + ", visible " + Files.exists(root.resolve("forced-key")));
        FileBlobStore.Sync.FSYNC.directory(d);
      }
    });
    store.put("forced-key", new ByteArrayInputStream(random(1234)));
    assertEquals(List.of("file 1234 bytes, visible false", "directory , visible true"), steps);
  }

  /** /healthz asks it: a directory that cannot take files (read-only, or gone) is reported. */
  @Test
  void fileStoreSaysWhenItsDirectoryCannotTakeFiles(@TempDir Path dir) throws Exception {
    Path root = dir.resolve("blobs");
    BlobStore store = new FileBlobStore(root);
    assertEquals(null, store.unwritable());
    Files.delete(root);
    assertTrue(store.unwritable().contains("not writable"), store.unwritable());
    assertEquals(null, new JdbcBlobStore(ds, 1024).unwritable(), "the database's health is the database probe's");
  }

  @Test
  void storeNamesAreFilePostgresOrItsOldAliasDb() {
    assertEquals(BlobStores.Kind.FILE, BlobStores.Kind.parse(" File "));
    assertEquals(BlobStores.Kind.DATABASE, BlobStores.Kind.parse("postgres"));
    assertEquals(BlobStores.Kind.DATABASE, BlobStores.Kind.parse("db"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BlobStores.Kind.parse("s4"));
    assertTrue(e.getMessage().contains("s4"));
    assertThrows(IllegalArgumentException.class,
        () -> BlobStores.create(BlobStores.Kind.DATABASE, Path.of("x"), 1024, null), "the database store needs the database");
  }

  /** A partial upload left by a killed node is deleted at the next start; a fresh one (a live upload) is kept. */
  @Test
  void fileStoreRemovesAbandonedPartialUploadsAtStart(@TempDir Path dir) throws Exception {
    Path abandoned = Files.write(dir.resolve(".tmp-abandoned"), random(100));
    Files.setLastModifiedTime(abandoned, FileTime.from(Instant.now().minus(Duration.ofMinutes(11))));
    Path live = Files.write(dir.resolve(".tmp-live"), random(100));
    Path blob = Files.write(dir.resolve("old-blob"), random(100));
    Files.setLastModifiedTime(blob, FileTime.from(Instant.now().minus(Duration.ofDays(30))));
    new FileBlobStore(dir);
    assertFalse(Files.exists(abandoned));
    assertTrue(Files.exists(live));
    assertTrue(Files.exists(blob), "stored blobs are never swept, however old");
  }
}
