package dev.parley.http.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JWT signing secret: {@code parley.http.jwt-secret} when set; otherwise one generated once and
 * kept in {@code <data-dir>/jwt-secret} (mode 0600), with a warning (fine for the embedded default,
 * not for several http nodes, which must share one secret).
 */
public final class JwtSecrets {
  private static final Logger log = LoggerFactory.getLogger(JwtSecrets.class);
  public static final String FILE_NAME = "jwt-secret";

  private JwtSecrets() {}

  /** A configured secret, if it is long enough to sign with. */
  public static String check(String configured) {
    if (configured.length() < 16) throw new IllegalArgumentException("PARLEY_JWT_SECRET must have at least 16 characters");
    return configured;
  }

  public static String resolve(String configured, Path dataDir) {
    if (configured != null && !configured.isBlank()) return check(configured);
    Path file = dataDir.resolve(FILE_NAME);
    try {
      Files.createDirectories(dataDir);
      if (!Files.exists(file)) {
        byte[] raw = new byte[32];
        new SecureRandom().nextBytes(raw);
        String secret = HexFormat.of().formatHex(raw);
        Path tmp = Files.createTempFile(dataDir, ".jwt-secret", ".tmp");
        try {
          restrict(tmp);
          Files.writeString(tmp, secret, StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
          Files.move(tmp, file);
        } catch (FileAlreadyExistsException raced) {
          Files.deleteIfExists(tmp);
        } catch (IOException | RuntimeException e) {
          Files.deleteIfExists(tmp);
          throw e;
        }
        log.warn("PARLEY_JWT_SECRET is not set: generated a JWT secret in {} (set PARLEY_JWT_SECRET when "
            + "running more than one http node)", file);
      } else {
        log.warn("PARLEY_JWT_SECRET is not set: using the generated JWT secret in {}", file);
      }
      String secret = Files.readString(file, StandardCharsets.UTF_8).strip();
      if (secret.length() < 16) throw new IllegalStateException(file + " holds no usable JWT secret; delete it to generate a new one");
      return secret;
    } catch (IOException e) {
      throw new IllegalStateException("cannot read or create the JWT secret file " + file + ": " + e.getMessage(), e);
    }
  }

  private static void restrict(Path p) throws IOException {
    try {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException notPosix) {
      // non-POSIX file systems: rely on the directory's permissions
    }
  }
}
