package dev.parley.protocol.blob;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * Where uploaded audio lives. Both roles see the same store: the http role writes an upload once,
 * the gpu role reads it. All methods block; call them on a blocking dispatcher.
 */
public interface BlobStore {

  /** Streams {@code in} into the store under {@code key}; never holds the whole blob in memory. */
  BlobInfo put(String key, InputStream in) throws IOException;

  /** Opens the blob for reading; throws {@link java.nio.file.NoSuchFileException} when absent. */
  InputStream open(String key) throws IOException;

  /**
   * A local file with the blob's bytes. A local store returns its own file; a remote store copies
   * the blob into {@code scratchDir} (streaming) and returns that copy, which the caller deletes.
   */
  Path materialize(String key, Path scratchDir) throws IOException;

  /** Size in bytes, or -1 when absent. */
  long size(String key) throws IOException;

  /**
   * Why the store cannot take new blobs now (a read-only directory), or null when it can; cheap
   * enough for a health probe. Stores whose health is the database's say null.
   */
  default String unwritable() {
    return null;
  }

  /** The keys of the complete blobs written before {@code cutoff} (partial uploads are not blobs yet). */
  List<String> keysWrittenBefore(Instant cutoff) throws IOException;

  /**
   * Removes what uploads cut off by a crash left behind (they are never blobs); returns how many.
   * Uploads still being written are left alone.
   */
  int removeAbandonedUploads() throws IOException;

  /** Removes the blob; absent blobs are fine (idempotent). */
  void delete(String key) throws IOException;

  /** Size and SHA-256 (hex) of a stored blob. */
  record BlobInfo(long size, String sha256) {}
}
