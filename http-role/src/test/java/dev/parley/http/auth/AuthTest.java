package dev.parley.http.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuthTest {
  static final String SECRET = "unit-test-secret-0123456789";

  @Test
  void bcryptHashesVerifyAndDiffer() {
    PasswordHasher h = new PasswordHasher(4);
    String a = h.hash("correct horse battery");
    String b = h.hash("correct horse battery");
    assertNotEquals(a, b, "salted");
    assertTrue(a.startsWith("$2a$04$"), a);
    assertTrue(h.verify("correct horse battery", a));
    assertFalse(h.verify("correct horse batterY", a));
    assertFalse(h.verify("anything", null), "unknown user");
    String longPw = "x".repeat(200);
    String l = h.hash(longPw);
    assertTrue(h.verify(longPw, l));
    assertFalse(h.verify("x".repeat(199) + "y", l), "no truncation at 72 bytes");
  }

  @Test
  void tokensVerifyAndExpire() {
    TokenService tokens = new TokenService(SECRET, Duration.ofHours(1));
    TokenService.Token t = tokens.issue("user-1", "a@example.com");
    assertEquals(new AuthUser("user-1", "a@example.com"), tokens.verify(t.token()).orElseThrow());
    assertTrue(t.expiresAt().isAfter(Instant.now().plus(Duration.ofMinutes(59))));

    Clock past = Clock.fixed(Instant.now().minus(Duration.ofHours(3)), ZoneOffset.UTC);
    String expired = new TokenService(SECRET, Duration.ofHours(1), past).issue("user-1", "a@example.com").token();
    assertTrue(tokens.verify(expired).isEmpty());
    String forged = new TokenService("other-secret-0123456789", Duration.ofHours(1)).issue("user-1", "a@example.com").token();
    assertTrue(tokens.verify(forged).isEmpty());
    String[] parts = t.token().split("\\.");
    String tampered = parts[0] + "." + parts[1].substring(0, parts[1].length() - 2) + "xx." + parts[2];
    assertTrue(tokens.verify(tampered).isEmpty());
    assertTrue(tokens.verify("not.a.token").isEmpty());
    assertThrows(IllegalArgumentException.class, () -> new TokenService("short", Duration.ofHours(1)));
  }

  @Test
  void generatedSecretIsKeptPrivatelyAndReused(@TempDir Path dir) throws Exception {
    String s1 = JwtSecrets.resolve("", dir);
    String s2 = JwtSecrets.resolve(null, dir);
    assertEquals(s1, s2);
    assertTrue(s1.length() >= 32);
    Path f = dir.resolve(JwtSecrets.FILE_NAME);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
    assertEquals("configured-secret-0123", JwtSecrets.resolve("configured-secret-0123", dir));
    assertThrows(IllegalArgumentException.class, () -> JwtSecrets.resolve("short", dir));
  }

  @Test
  void emailsAreNormalisedAndChecked() {
    assertEquals("bob@example.com", AuthRoutes.email(new AuthRoutes.Credentials("  Bob@Example.COM ", "x")));
    // "é" precomposed and as e + combining acute are one address
    assertEquals("jos\u00e9@example.com", AuthRoutes.email(new AuthRoutes.Credentials("Jose\u0301@example.com", "x")));
    assertEquals(AuthRoutes.normalised("JOS\u00c9@example.com"), AuthRoutes.normalised("jose\u0301@Example.com"));
    for (String bad : new String[] {"bob", "bob@", "@example.com", "bob@example", "b ob@example.com", "a@b@c.de",
        // control and invisible characters: look-alikes of real addresses
        "ada\u0000@example.com", "ada\u0007x@example.com", "ada\u200b@example.com", "ada@exa\u00a0mple.com",
        "ada@example.com\u2028x"}) {
      assertThrows(dev.parley.http.web.ApiException.class, () -> AuthRoutes.email(new AuthRoutes.Credentials(bad, "x")), bad);
    }
  }
}
