package dev.parley.http.auth;

import at.favre.lib.crypto.bcrypt.BCrypt;
import at.favre.lib.crypto.bcrypt.LongPasswordStrategies;
import at.favre.lib.crypto.bcrypt.LongPasswordStrategy;

/**
 * bcrypt (at.favre.lib) with a configurable cost. Passwords longer than bcrypt's 72 bytes are
 * pre-hashed with SHA-512 instead of being cut off. CPU-heavy: call on a blocking dispatcher.
 */
public final class PasswordHasher {
  private static final BCrypt.Version VERSION = BCrypt.Version.VERSION_2A;
  private static final LongPasswordStrategy LONG = LongPasswordStrategies.hashSha512(VERSION);

  private final int cost;
  private final BCrypt.Hasher hasher = BCrypt.with(VERSION, LONG);
  private final BCrypt.Verifyer verifyer = BCrypt.verifyer(VERSION, LONG);
  /** Verified against when the email is unknown, so both cases take the same time. */
  private final String dummyHash;

  public PasswordHasher(int cost) {
    this.cost = cost;
    this.dummyHash = hash("parley-dummy-password");
  }

  public int cost() {
    return cost;
  }

  public String hash(String password) {
    return hasher.hashToString(cost, password.toCharArray());
  }

  public boolean verify(String password, String hash) {
    if (hash == null) {
      verifyer.verify(password.toCharArray(), dummyHash);
      return false;
    }
    return verifyer.verify(password.toCharArray(), hash).verified;
  }
}
