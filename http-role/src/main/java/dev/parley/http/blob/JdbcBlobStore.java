package dev.parley.http.blob;

import dev.parley.protocol.blob.BlobStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import javax.sql.DataSource;

/**
 * Blob store in the database: {@code blob_object} (size, checksum) plus {@code blob_chunk} rows of
 * {@code chunkSize} bytes. Writing and reading go one chunk at a time, each with a connection
 * borrowed just for that statement, so a slow client never pins a pooled connection and no blob is
 * ever whole in memory. A blob is visible once its {@code blob_object} row exists (written last);
 * the chunks of an upload that never got there (its node was killed) are removed by
 * {@link #removeAbandonedUploads} once no chunk has come for {@link #ABANDONED_AFTER}.
 * Works on PostgreSQL (BYTEA, stored uncompressed) and on H2 (BLOB).
 */
public final class JdbcBlobStore implements BlobStore {
  /**
   * A live upload writes a chunk at least this often: 1 MiB an hour is 290 bytes a second, slower
   * than any upload that would finish. {@link #put} also refuses to complete a blob whose chunks are
   * not all there, should a slower one lose its first chunks all the same.
   */
  static final Duration ABANDONED_AFTER = Duration.ofHours(1);

  private final DataSource ds;
  private final int chunkSize;

  public JdbcBlobStore(DataSource ds, int chunkSize) {
    if (chunkSize < 1024) throw new IllegalArgumentException("blob chunk size must be >= 1 KiB");
    this.ds = ds;
    this.chunkSize = chunkSize;
  }

  public int chunkSize() {
    return chunkSize;
  }

  private static void checkKey(String key) {
    if (key == null || key.isEmpty() || key.length() > 255) throw new IllegalArgumentException("invalid blob key: " + key);
  }

  @Override
  public BlobInfo put(String key, InputStream in) throws IOException {
    checkKey(key);
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    try {
      deleteRows(key);
      byte[] buf = new byte[chunkSize];
      long size = 0;
      int index = 0;
      try {
        while (true) {
          int n = fill(in, buf);
          if (n <= 0) break;
          sha.update(buf, 0, n);
          byte[] data = n == chunkSize ? buf : Arrays.copyOf(buf, n);
          try (Connection c = ds.getConnection();
              PreparedStatement ps = c.prepareStatement(
                  "INSERT INTO blob_chunk (blob_key, chunk_index, data, written_at) VALUES (?, ?, ?, ?)")) {
            ps.setString(1, key);
            ps.setInt(2, index++);
            ps.setBytes(3, data);
            ps.setLong(4, System.currentTimeMillis());
            ps.executeUpdate();
          }
          size += n;
          if (n < chunkSize) break;
        }
        String hex = HexFormat.of().formatHex(sha.digest());
        int written = chunkCount(key);
        if (written != index) {
          throw new IOException("blob store: " + (index - written) + " of the " + index + " chunks of " + key
              + " are gone (removed as abandoned while the upload was still running)");
        }
        try (Connection c = ds.getConnection();
            PreparedStatement ps = c.prepareStatement(
                "INSERT INTO blob_object (blob_key, size_bytes, sha256, chunk_size, created_at) VALUES (?, ?, ?, ?, ?)")) {
          ps.setString(1, key);
          ps.setLong(2, size);
          ps.setString(3, hex);
          ps.setInt(4, chunkSize);
          ps.setLong(5, System.currentTimeMillis());
          ps.executeUpdate();
        }
        return new BlobInfo(size, hex);
      } catch (IOException | SQLException | RuntimeException e) {
        try {
          deleteRows(key);
        } catch (SQLException suppressed) {
          e.addSuppressed(suppressed);
        }
        throw e;
      }
    } catch (SQLException e) {
      throw new IOException("blob store: cannot write " + key + ": " + e.getMessage(), e);
    }
  }

  /** Reads until the buffer is full or the stream ends (a short read is not the end). */
  private static int fill(InputStream in, byte[] buf) throws IOException {
    int n = 0;
    while (n < buf.length) {
      int r = in.read(buf, n, buf.length - n);
      if (r < 0) break;
      n += r;
    }
    return n;
  }

  @Override
  public List<String> keysWrittenBefore(Instant cutoff) throws IOException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT blob_key FROM blob_object WHERE created_at < ?")) {
      ps.setLong(1, cutoff.toEpochMilli());
      List<String> keys = new ArrayList<>();
      try (var rs = ps.executeQuery()) {
        while (rs.next()) keys.add(rs.getString(1));
      }
      return keys;
    } catch (SQLException e) {
      throw new IOException("listing blobs failed: " + e.getMessage(), e);
    }
  }

  private int chunkCount(String key) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM blob_chunk WHERE blob_key = ?")) {
      ps.setString(1, key);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  /**
   * Deletes the chunks of uploads that never completed (no {@code blob_object} row) and got no chunk
   * for {@link #ABANDONED_AFTER}: a node killed mid-upload leaves them (a failed or cancelled upload
   * deletes its own). Chunks from before their write time was kept count as old.
   */
  @Override
  public int removeAbandonedUploads() throws IOException {
    List<String> keys = new ArrayList<>();
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT blob_key FROM blob_chunk c WHERE NOT EXISTS"
            + " (SELECT 1 FROM blob_object o WHERE o.blob_key = c.blob_key)"
            + " GROUP BY blob_key HAVING COALESCE(MAX(written_at), 0) < ?")) {
      long cutoff = System.currentTimeMillis() - ABANDONED_AFTER.toMillis();
      ps.setLong(1, cutoff);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) keys.add(rs.getString(1));
      }
      int removed = 0;
      for (String key : keys) {
        // the same conditions again: a chunk may have come since the query
        try (PreparedStatement del = c.prepareStatement("DELETE FROM blob_chunk WHERE blob_key = ?"
            + " AND NOT EXISTS (SELECT 1 FROM blob_object WHERE blob_key = ?)"
            + " AND (SELECT COALESCE(MAX(written_at), 0) FROM blob_chunk WHERE blob_key = ?) < ?")) {
          del.setString(1, key);
          del.setString(2, key);
          del.setString(3, key);
          del.setLong(4, cutoff);
          if (del.executeUpdate() > 0) removed++;
        }
      }
      return removed;
    } catch (SQLException e) {
      throw new IOException("blob store: cannot remove abandoned uploads: " + e.getMessage(), e);
    }
  }

  private void deleteRows(String key) throws SQLException {
    try (Connection c = ds.getConnection()) {
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM blob_object WHERE blob_key = ?")) {
        ps.setString(1, key);
        ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM blob_chunk WHERE blob_key = ?")) {
        ps.setString(1, key);
        ps.executeUpdate();
      }
    }
  }

  private record Meta(long size, int chunkSize) {}

  private Meta meta(String key) throws IOException {
    checkKey(key);
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT size_bytes, chunk_size FROM blob_object WHERE blob_key = ?")) {
      ps.setString(1, key);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? new Meta(rs.getLong(1), rs.getInt(2)) : null;
      }
    } catch (SQLException e) {
      throw new IOException("blob store: cannot read " + key + ": " + e.getMessage(), e);
    }
  }

  @Override
  public InputStream open(String key) throws IOException {
    Meta m = meta(key);
    if (m == null) throw new NoSuchFileException("blob " + key);
    return new ChunkInputStream(key, m.size(), m.chunkSize());
  }

  @Override
  public Path materialize(String key, Path scratchDir) throws IOException {
    Files.createDirectories(scratchDir);
    Path tmp = Files.createTempFile(scratchDir, "blob-", ".bin");
    try (InputStream in = open(key); OutputStream out = Files.newOutputStream(tmp)) {
      in.transferTo(out);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
    return tmp;
  }

  @Override
  public long size(String key) throws IOException {
    Meta m = meta(key);
    return m == null ? -1 : m.size();
  }

  @Override
  public void delete(String key) throws IOException {
    checkKey(key);
    try {
      deleteRows(key);
    } catch (SQLException e) {
      throw new IOException("blob store: cannot delete " + key + ": " + e.getMessage(), e);
    }
  }

  /** Reads one chunk per query; {@link #skip} jumps to the chunk holding the target position. */
  private final class ChunkInputStream extends InputStream {
    private final String key;
    private final long size;
    private final int chunk;
    private long pos;
    private byte[] buf;
    private long bufStart = -1;
    private boolean closed;

    ChunkInputStream(String key, long size, int chunk) {
      this.key = key;
      this.size = size;
      this.chunk = chunk;
    }

    private boolean fill() throws IOException {
      if (closed) throw new IOException("stream closed");
      if (pos >= size) return false;
      long index = pos / chunk;
      long start = index * chunk;
      if (buf != null && bufStart == start) return true;
      try (Connection c = ds.getConnection();
          PreparedStatement ps = c.prepareStatement(
              "SELECT data FROM blob_chunk WHERE blob_key = ? AND chunk_index = ?")) {
        ps.setString(1, key);
        ps.setInt(2, (int) index);
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) throw new IOException("blob " + key + " is missing chunk " + index + " (deleted while read?)");
          buf = rs.getBytes(1);
          bufStart = start;
        }
      } catch (SQLException e) {
        throw new IOException("blob store: cannot read " + key + " chunk " + index + ": " + e.getMessage(), e);
      }
      return true;
    }

    @Override
    public int read() throws IOException {
      if (!fill()) return -1;
      int b = buf[(int) (pos - bufStart)] & 0xff;
      pos++;
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      Objects.checkFromIndexSize(off, len, b.length);
      if (len == 0) return 0;
      if (!fill()) return -1;
      int inBuf = (int) (pos - bufStart);
      int n = Math.min(len, buf.length - inBuf);
      if (n <= 0) throw new IOException("blob " + key + " chunk at " + bufStart + " is shorter than recorded");
      System.arraycopy(buf, inBuf, b, off, n);
      pos += n;
      return n;
    }

    @Override
    public long skip(long n) {
      if (n <= 0) return 0;
      long target = Math.min(size, pos + n);
      long skipped = target - pos;
      pos = target;
      return skipped;
    }

    @Override
    public int available() {
      if (buf == null || pos < bufStart) return 0;
      return (int) Math.max(0, Math.min(bufStart + buf.length - pos, Integer.MAX_VALUE));
    }

    @Override
    public void close() {
      closed = true;
      buf = null;
    }
  }
}
