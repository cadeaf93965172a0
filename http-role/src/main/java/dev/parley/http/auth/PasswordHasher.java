package dev.parley.http.auth;

import at.favre.lib.crypto.bcrypt.BCrypt;
import at.favre.lib.crypto.bcrypt.LongPasswordStrategies;
import at.favre.lib.crypto.bcrypt.LongPasswordStrategy;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;

/**
 * bcrypt (at.favre.lib) with a configurable cost. Passwords longer than bcrypt's 72 bytes are
 * pre-hashed with SHA-512 instead of being cut off. Passwords are hashed in Unicode NFKC (NIST SP
 * 800-63B), so "é" typed as one code point or as "e" and a combining accent, as keyboards and systems
 * differ, is one password. CPU-heavy: call on a blocking dispatcher.
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

  /**
   * Whether bcrypt sees {@code password} as written. bcrypt ends its key at a NUL byte and repeats
   * the key cyclically, so {@code "abcdefgh\0abcdefgh"} would verify against {@code "abcdefgh"}
   * and eight NULs against the empty password; an unpaired UTF-16 surrogate becomes {@code '?'} in
   * UTF-8, so all of them would collide. Such passwords are refused at registration and never verify.
   */
  public static boolean representable(String password) {
    return password.indexOf('\0') < 0 && StandardCharsets.UTF_8.newEncoder().canEncode(password);
  }

  public String hash(String password) {
    if (!representable(password)) throw new IllegalArgumentException("password has a NUL or an unpaired surrogate");
    return hasher.hashToString(cost, normalised(password).toCharArray());
  }

  /**
   * Whether {@code password} is the one {@code hash} was made of. A password that NFKC changes is
   * also tried as typed: releases before 2026-12-02 hashed passwords as typed.
   */
  public boolean verify(String password, String hash) {
    if (hash == null || !representable(password)) {
      verifyer.verify(password.toCharArray(), dummyHash);
      return false;
    }
    String n = normalised(password);
    return verifyer.verify(n.toCharArray(), hash).verified
        || (!n.equals(password) && verifyer.verify(password.toCharArray(), hash).verified);
  }

  private static String normalised(String password) {
    return Normalizer.normalize(password, Normalizer.Form.NFKC);
  }
}
