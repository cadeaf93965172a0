package dev.parley.http.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.auth0.jwt.JWT;
import com.auth0.jwt.JWTCreator;
import com.auth0.jwt.algorithms.Algorithm;
import dev.parley.http.web.ApiException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
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

  /** A security review: "café" typed with a combining accent did not log in to an account registered with "é". */
  @Test
  void aPasswordIsTheSameInEveryUnicodeSpelling() {
    PasswordHasher h = new PasswordHasher(4);
    String composed = "caf\u00e9-password";
    String decomposed = "cafe\u0301-password";
    assertTrue(h.verify(decomposed, h.hash(composed)));
    assertTrue(h.verify(composed, h.hash(decomposed)));
    assertTrue(h.verify("\uff41bcdefgh", h.hash("abcdefgh")), "full-width letters are NFKC's compatibility forms");
    assertFalse(h.verify("cafe-password", h.hash(composed)));
    // a hash an earlier release made of the password as typed still verifies
    String asTyped = at.favre.lib.crypto.bcrypt.BCrypt.with(at.favre.lib.crypto.bcrypt.BCrypt.Version.VERSION_2A,
        at.favre.lib.crypto.bcrypt.LongPasswordStrategies.hashSha512(at.favre.lib.crypto.bcrypt.BCrypt.Version.VERSION_2A))
        .hashToString(4, decomposed.toCharArray());
    assertTrue(h.verify(decomposed, asTyped));
    assertFalse(h.verify("cafe\u0301-passwore", asTyped));
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
    // signed with the right secret, yet not Parley's: another issuer, or no expiry (it would never expire)
    Algorithm rightKey = Algorithm.HMAC256(SECRET);
    Instant inAnHour = Instant.now().plus(Duration.ofHours(1));
    assertTrue(tokens.verify(JWT.create().withIssuer(TokenService.ISSUER).withSubject("user-1").withExpiresAt(inAnHour)
        .sign(rightKey)).isPresent(), "the claims below are the only difference");
    assertTrue(tokens.verify(JWT.create().withIssuer("other").withSubject("user-1").withExpiresAt(inAnHour)
        .sign(rightKey)).isEmpty(), "another issuer");
    assertTrue(tokens.verify(JWT.create().withSubject("user-1").withExpiresAt(inAnHour).sign(rightKey)).isEmpty(), "no issuer");
    assertTrue(tokens.verify(JWT.create().withIssuer(TokenService.ISSUER).withSubject("user-1").sign(rightKey)).isEmpty(),
        "no expiry");
    assertTrue(tokens.verify(JWT.create().withIssuer(TokenService.ISSUER).withExpiresAt(inAnHour).sign(rightKey)).isEmpty(),
        "no subject");
  }

  @Test
  void tokensCarryTheirGenerationAndOlderOnesCountAsZero() {
    TokenService tokens = new TokenService(SECRET, Duration.ofHours(1));
    TokenService.Verified v = tokens.verifyWithGeneration(tokens.issue("user-1", "a@example.com", 5).token()).orElseThrow();
    assertEquals(new AuthUser("user-1", "a@example.com"), v.user());
    assertEquals(5, v.generation());
    assertEquals(0, tokens.verifyWithGeneration(tokens.issue("user-1", "a@example.com").token()).orElseThrow().generation());

    // as issued before revocation existed: no "gen" claim
    Algorithm hmac = Algorithm.HMAC256(SECRET);
    Instant exp = Instant.now().plus(Duration.ofHours(1)).truncatedTo(ChronoUnit.SECONDS);
    String legacy = JWT.create().withIssuer("parley").withSubject("user-1").withClaim("email", "a@example.com")
        .withIssuedAt(Instant.now()).withExpiresAt(exp).sign(hmac);
    TokenService.Verified old = tokens.verifyWithGeneration(legacy).orElseThrow();
    assertEquals(0, old.generation());
    assertEquals(new AuthUser("user-1", "a@example.com"), tokens.verify(legacy).orElseThrow());

    // a generation that is not a whole number at least 0 is no generation Parley wrote
    for (JWTCreator.Builder odd : List.of(
        JWT.create().withClaim(TokenService.GENERATION_CLAIM, "1"),
        JWT.create().withClaim(TokenService.GENERATION_CLAIM, -1L),
        JWT.create().withClaim(TokenService.GENERATION_CLAIM, 1.5))) {
      String t = odd.withIssuer("parley").withSubject("user-1").withExpiresAt(exp).sign(hmac);
      assertTrue(tokens.verifyWithGeneration(t).isEmpty(), t);
    }
  }

  @Test
  void aNewPasswordIsCheckedByTheRulesOfRegistrationUnderItsFieldsName() {
    AuthRoutes.checkNewPassword("long-enough", "newPassword");
    for (String weak : new String[] {null, "short", "        ", "\u200b".repeat(8), "\0".repeat(8), "x".repeat(AuthRoutes.MAX_PASSWORD + 1)}) {
      ApiException e = assertThrows(ApiException.class,
          () -> AuthRoutes.checkNewPassword(weak, "newPassword"));
      assertEquals("invalid_password", e.error());
      assertTrue(e.getMessage().startsWith("newPassword "), e.getMessage());
    }
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
      assertThrows(ApiException.class, () -> AuthRoutes.email(new AuthRoutes.Credentials(bad, "x")), bad);
    }
  }
}
