package dev.parley.http.blob;

import dev.parley.protocol.blob.BlobStore;
import dev.parley.protocol.blob.FileBlobStore;
import java.nio.file.Path;
import java.util.Locale;
import javax.sql.DataSource;

/** Builds the blob store named by {@code parley.blob.store}: {@code file} or {@code postgres}. */
public final class BlobStores {
  private BlobStores() {}

  /** The kinds of blob store, as {@code parley.blob.store} names them. */
  public enum Kind {
    /** {@code <data-dir>/blobs} ({@link FileBlobStore}). */
    FILE("file"),
    /** Chunk rows in the database ({@link JdbcBlobStore}): {@code postgres}, also accepted as {@code db}. */
    DATABASE("postgres");

    private final String configName;

    Kind(String configName) {
      this.configName = configName;
    }

    /** {@code file}, {@code postgres} or {@code db} (any case, spaces around allowed); anything else is an error. */
    public static Kind parse(String value) {
      String v = value.trim().toLowerCase(Locale.ROOT);
      return switch (v) {
        case "file" -> FILE;
        case "postgres", "db" -> DATABASE;
        default -> throw new IllegalArgumentException(
            "parley.blob.store must be 'file' or 'postgres', got '" + v + "'");
      };
    }

    /** The name {@code parley.blob.store} gives it. */
    @Override
    public String toString() {
      return configName;
    }
  }

  /**
   * {@link Kind#FILE}: {@code <dataDir>/blobs}; {@link Kind#DATABASE}: rows of {@code chunkSize}
   * bytes in the database behind {@code ds} (tables from {@code schema/postgres/parley-003-blobs.sql},
   * so run {@link dev.parley.http.db.Schema#migrate} first).
   */
  public static BlobStore create(Kind kind, Path dataDir, long chunkSize, DataSource ds) {
    return switch (kind) {
      case FILE -> new FileBlobStore(dataDir.toAbsolutePath().normalize().resolve("blobs"));
      case DATABASE -> {
        if (ds == null) throw new IllegalArgumentException("parley.blob.store = postgres needs the database");
        yield new JdbcBlobStore(ds, (int) Math.min(Integer.MAX_VALUE, chunkSize));
      }
    };
  }
}
