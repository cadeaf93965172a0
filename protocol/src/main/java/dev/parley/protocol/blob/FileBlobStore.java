package dev.parley.protocol.blob;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

/** Blob store on a local (or shared, mounted) directory: the embedded default, {@code ./data/blobs}. */
public final class FileBlobStore implements BlobStore {
  private static final String TMP_PREFIX = ".tmp-";
  private static final Duration ABANDONED_AFTER = Duration.ofMinutes(10);
  private static final Duration SWEEP_EVERY = Duration.ofMinutes(10);

  /** How {@link #put} makes a blob durable before it returns: the file, then the rename into place. */
  public interface Sync {
    void file(FileChannel channel) throws IOException;

    void directory(Path dir);

    /** {@code fsync} of the file and of its directory (Linux and macOS allow it on a directory; Windows does not). */
    Sync FSYNC = new Sync() {
      @Override
      public void file(FileChannel channel) throws IOException {
        channel.force(true);
      }

      @Override
      public void directory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
          d.force(true);
        } catch (IOException | UnsupportedOperationException e) {
          // not supported on this platform or file system: the file itself was forced
        }
      }
    };
  }

  private final Path root;
  private final Sync sync;
  private volatile long nextSweepMillis;

  public FileBlobStore(Path root) {
    this(root, Sync.FSYNC);
  }

  /** With another {@link Sync}: for tests that watch what is forced when. */
  public FileBlobStore(Path root, Sync sync) {
    this.root = root;
    this.sync = sync;
    try {
      Files.createDirectories(root);
    } catch (IOException e) {
      throw new IllegalStateException("cannot create blob directory " + root, e);
    }
    removeAbandonedUploads();
  }

  /**
   * Deletes partial uploads that no one writes to any more: a node killed mid-upload leaves its
   * {@code .tmp-} file behind (a failed or cancelled upload deletes its own). A live upload writes
   * at least every {@code pekko.http.server.idle-timeout} (2 minutes), so ten minutes without a
   * write means abandoned, even with other nodes writing to a shared directory. Runs at start-up
   * and then at most every ten minutes, from {@link #put}, and at the http role's hourly sweep.
   */
  @Override
  public int removeAbandonedUploads() {
    nextSweepMillis = System.currentTimeMillis() + SWEEP_EVERY.toMillis();
    return AbandonedFiles.delete(root, name -> name.startsWith(TMP_PREFIX), ABANDONED_AFTER);
  }


  @Override
  public String unwritable() {
    return Files.isWritable(root) ? null : "the blob directory " + root + " is not writable";
  }

  private Path file(String key) {
    if (key.isEmpty() || key.contains("/") || key.contains("\\") || key.startsWith(".")) {
      throw new IllegalArgumentException("invalid blob key: " + key);
    }
    return root.resolve(key);
  }

  @Override
  public BlobInfo put(String key, InputStream in) throws IOException {
    Path target = file(key);
    if (System.currentTimeMillis() > nextSweepMillis) removeAbandonedUploads();
    Path tmp = root.resolve(TMP_PREFIX + UUID.randomUUID());
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    long size;
    try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        OutputStream out = new DigestOutputStream(Channels.newOutputStream(channel), sha)) {
      size = in.transferTo(out);
      sync.file(channel); // on disk before the meeting that points at it is acknowledged
    } catch (IOException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    sync.directory(root); // the rename too
    return new BlobInfo(size, HexFormat.of().formatHex(sha.digest()));
  }

  @Override
  public InputStream open(String key) throws IOException {
    return Files.newInputStream(file(key));
  }

  @Override
  public Path materialize(String key, Path scratchDir) throws IOException {
    Path f = file(key);
    if (!Files.exists(f)) throw new NoSuchFileException(f.toString());
    return f;
  }

  @Override
  public long size(String key) throws IOException {
    Path f = file(key);
    return Files.exists(f) ? Files.size(f) : -1;
  }

  @Override
  public List<String> keysWrittenBefore(Instant cutoff) throws IOException {
    try (var files = Files.list(root)) {
      List<String> keys = new ArrayList<>();
      for (Path f : (Iterable<Path>) files::iterator) {
        String name = f.getFileName().toString();
        if (name.startsWith(".") || !Files.isRegularFile(f)) continue; // partial uploads are .tmp- files
        if (Files.getLastModifiedTime(f).toInstant().isBefore(cutoff)) keys.add(name);
      }
      return keys;
    }
  }

  @Override
  public void delete(String key) throws IOException {
    Files.deleteIfExists(file(key));
  }
}
