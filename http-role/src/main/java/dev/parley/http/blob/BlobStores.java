package dev.parley.http.blob;

import com.typesafe.config.Config;
import dev.parley.protocol.blob.BlobStore;
import dev.parley.protocol.blob.FileBlobStore;
import java.nio.file.Path;
import javax.sql.DataSource;

/** Builds the blob store named by {@code parley.blob.store}: {@code file} or {@code postgres}. */
public final class BlobStores {
  private BlobStores() {}

  /**
   * {@code file}: {@code <parley.data-dir>/blobs}; {@code postgres}: chunked rows in the database ({@link JdbcBlobStore})
   * behind {@code ds} (tables from {@code schema/postgres/parley-003-blobs.sql}, so run {@link
   * dev.parley.http.db.Schema#migrate} first).
   */
  public static BlobStore create(Config parley, DataSource ds) {
    String kind = parley.getString("blob.store").trim().toLowerCase(java.util.Locale.ROOT);
    switch (kind) {
      case "file":
        return new FileBlobStore(Path.of(parley.getString("data-dir")).toAbsolutePath().normalize().resolve("blobs"));
      case "postgres":
      case "db":
        if (ds == null) throw new IllegalArgumentException("parley.blob.store = postgres needs the database");
        int chunk = (int) Math.min(Integer.MAX_VALUE, parley.getBytes("blob.chunk-size"));
        return new JdbcBlobStore(ds, chunk);
      default:
        throw new IllegalArgumentException("parley.blob.store must be 'file' or 'postgres', got '" + kind + "'");
    }
  }
}
