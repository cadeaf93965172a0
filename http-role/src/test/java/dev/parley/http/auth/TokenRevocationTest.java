package dev.parley.http.auth;

import static dev.parley.http.testutil.Api.assertError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import dev.parley.http.testutil.Api;
import dev.parley.http.testutil.Api.Res;
import dev.parley.http.testutil.Postgres;
import dev.parley.http.testutil.TestNode;
import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * POST /auth/password and POST /auth/logout on a one-node cluster over the real PostgreSQL: both
 * revoke every token the user had, and only those.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TokenRevocationTest {
  static final String SECRET = "test-secret-0123456789abcdef"; // TestNode's
  static final String INVALID_TOKEN = "Bearer realm=\"parley\", error=\"invalid_token\"";
  static final String PASSWORD = "correct-horse"; // Api.user's

  Postgres pg;
  TestNode node;
  Api api;

  @BeforeAll
  void start(@TempDir Path dir) {
    pg = Postgres.freshSchema();
    node = TestNode.start("revocation", dir, pg.db, List.of("http"), null, null);
    api = new Api(node.base);
  }

  @AfterAll
  void stop() {
    if (node != null) node.close();
    if (pg != null) pg.close();
  }

  /** 401 with the challenge that tells a client to log in again. */
  static void assertRevoked(Res r) {
    assertError(r, 401, "unauthorized");
    assertEquals(INVALID_TOKEN, r.header("WWW-Authenticate"));
  }

  String login(String email, String password) {
    Res r = api.postJson("/auth/login", null, "{\"email\":\"" + email + "\",\"password\":\"" + password + "\"}");
    assertEquals(200, r.status(), r.text());
    return r.json().get("token").asText();
  }

  Res changePassword(String token, String current, String next) {
    return api.postJson("/auth/password", token, "{\"currentPassword\":\"" + current + "\",\"newPassword\":\"" + next + "\"}");
  }

  Res logout(String token) {
    return api.send(api.req("/auth/logout", token).POST(HttpRequest.BodyPublishers.noBody()).build());
  }

  @Test
  void aPasswordChangeRevokesEveryEarlierTokenAndOnlyTheNewPasswordLogsIn() {
    String email = "change@example.com";
    String laptop = api.user(email);
    String phone = login(email, PASSWORD);
    String bystander = api.user("bystander@example.com");
    assertEquals(200, api.get("/meetings", laptop).status());
    assertEquals(200, api.get("/meetings", phone).status());

    Res changed = changePassword(laptop, PASSWORD, "a-new-secret");
    assertEquals(204, changed.status(), changed.text());
    assertEquals(0, changed.body().length, "no token in the answer: the client logs in again");

    for (String old : List.of(laptop, phone)) {
      assertRevoked(api.get("/meetings", old));
      assertRevoked(api.get("/auth/me", old));
      assertRevoked(changePassword(old, "a-new-secret", "yet-another-one"));
    }
    assertError(api.postJson("/auth/login", null, "{\"email\":\"" + email + "\",\"password\":\"" + PASSWORD + "\"}"),
        401, "invalid_credentials");
    String fresh = login(email, "a-new-secret");
    assertEquals(200, api.get("/meetings", fresh).status());
    assertEquals(email, api.get("/auth/me", fresh).json().get("email").asText());
    assertEquals(200, api.get("/meetings", bystander).status(), "another user's tokens are untouched");
  }

  @Test
  void aWrongCurrentPasswordIs401AndCountsAsAFailedLogin() {
    String email = "wrong@example.com";
    String token = api.user(email);
    Res wrong = changePassword(token, "not-my-password", "a-new-secret");
    assertError(wrong, 401, "invalid_credentials");
    assertNull(wrong.header("WWW-Authenticate"), "the token is fine: the client must not drop it");
    assertEquals(200, api.get("/meetings", token).status(), "the token still works");
    // too long to be anyone's password: refused as wrong, not as a server error
    assertError(changePassword(token, "p".repeat(AuthRoutes.MAX_PASSWORD + 1), "a-new-secret"), 401, "invalid_credentials");

    // 10 failures in all (login's limit) hold both the login and the change back: a stolen token
    // guesses no faster than the login form
    for (int i = 0; i < 8; i++) assertError(changePassword(token, "guess-" + i, "a-new-secret"), 401, "invalid_credentials");
    Res held = changePassword(token, PASSWORD, "a-new-secret");
    assertError(held, 429, "too_many_attempts");
    long retryAfter = Long.parseLong(held.header("Retry-After"));
    assertTrue(retryAfter > 0 && retryAfter <= 300, held.header("Retry-After"));
    assertError(api.postJson("/auth/login", null, "{\"email\":\"" + email + "\",\"password\":\"" + PASSWORD + "\"}"),
        429, "too_many_attempts");
    assertEquals(200, api.get("/meetings", token).status(), "nothing changed");
  }

  @Test
  void failedLoginsCountAgainstTheChangeToo() {
    String email = "mixed@example.com";
    String token = api.user(email);
    String wrongLogin = "{\"email\":\"" + email + "\",\"password\":\"wrong-guess\"}";
    for (int i = 0; i < 10; i++) assertError(api.postJson("/auth/login", null, wrongLogin), 401, "invalid_credentials");
    assertError(changePassword(token, PASSWORD, "a-new-secret"), 429, "too_many_attempts");
  }

  @Test
  void aNewPasswordIsCheckedAsAtRegistration() {
    String email = "weak@example.com";
    String token = api.user(email);
    for (String weak : List.of("short", "          ", "\\u200b".repeat(8), "\\u0000".repeat(8), "\\ud800abcdefgh",
        "\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00")) {
      Res r = changePassword(token, PASSWORD, weak);
      assertError(r, 400, "invalid_password");
      assertTrue(r.json().get("message").asText().startsWith("newPassword "), r.text());
    }
    Res tooLong = changePassword(token, PASSWORD, "p".repeat(AuthRoutes.MAX_PASSWORD + 1));
    assertError(tooLong, 400, "invalid_password");
    // nothing changed: the token works and the old password logs in
    assertEquals(200, api.get("/meetings", token).status());
    login(email, PASSWORD);
  }

  @Test
  void missingFieldsAndMalformedBodiesAre400() {
    String token = api.user("fields@example.com");
    for (String body : List.of("{}", "{\"currentPassword\":\"" + PASSWORD + "\"}", "{\"newPassword\":\"a-new-secret\"}",
        "{\"currentPassword\":null,\"newPassword\":\"a-new-secret\"}")) {
      assertError(api.postJson("/auth/password", token, body), 400, "bad_request");
    }
    for (String body : List.of("nonsense", "{\"currentPassword\": \"x\", ", "[1,2]",
        "{\"currentPassword\":12345678,\"newPassword\":\"a-new-secret\"}",
        "{\"currentPassword\":\"" + PASSWORD + "\",\"newPassword\":\"a-new-secret\"} trailing")) {
      assertError(api.postJson("/auth/password", token, body), 400, "bad_request");
    }
    assertError(api.postJson("/auth/password", token, "{\"currentPassword\":\"x\",\"newPassword\":\"" + "p".repeat(70_000) + "\"}"),
        413, "payload_too_large");
    // no token, no change (whatever the body)
    Res none = api.postJson("/auth/password", null, "{\"currentPassword\":\"" + PASSWORD + "\",\"newPassword\":\"a-new-secret\"}");
    assertError(none, 401, "unauthorized");
    assertError(api.postJson("/auth/password", "garbage", "nonsense"), 401, "unauthorized");
    assertError(logout(null), 401, "unauthorized");
    assertError(api.get("/auth/password", token), 405, "method_not_allowed");
    assertError(api.get("/auth/logout", token), 405, "method_not_allowed");
    assertEquals(200, api.get("/meetings", token).status(), "none of it changed anything");
  }

  @Test
  void logoutSignsOutEverywhereAndALoginStillWorks() {
    String email = "logout@example.com";
    String laptop = api.user(email);
    String phone = login(email, PASSWORD);
    Res out = logout(laptop);
    assertEquals(204, out.status(), out.text());
    assertEquals(0, out.body().length);
    for (String old : List.of(laptop, phone)) {
      assertRevoked(api.get("/meetings", old));
      assertRevoked(api.get("/auth/me", old));
      assertRevoked(logout(old));
    }
    String again = login(email, PASSWORD);
    assertEquals(200, api.get("/meetings", again).status());
    assertNotEquals(laptop, again);
    // and once more: each logout revokes what came before it
    assertEquals(204, logout(again).status());
    assertRevoked(api.get("/meetings", again));
    assertEquals(200, api.get("/meetings", login(email, PASSWORD)).status());
  }

  /** A token as Parley issued them before revocation existed: no generation claim. */
  static String legacyToken(String userId, String email) {
    Instant now = Instant.now();
    return JWT.create().withIssuer(TokenService.ISSUER).withSubject(userId).withClaim("email", email)
        .withIssuedAt(now).withExpiresAt(now.plus(Duration.ofHours(1)).truncatedTo(ChronoUnit.SECONDS))
        .sign(Algorithm.HMAC256(SECRET));
  }

  @Test
  void aTokenWithoutTheGenerationClaimWorksUntilItsUserLogsOut() {
    String email = "legacy@example.com";
    String current = api.user(email);
    String id = api.get("/auth/me", current).json().get("id").asText();
    String legacy = legacyToken(id, email);
    assertTrue(JWT.decode(legacy).getClaim(TokenService.GENERATION_CLAIM).isMissing());
    assertEquals(200, api.get("/meetings", legacy).status());
    assertEquals(id, api.get("/auth/me", legacy).json().get("id").asText());

    assertEquals(204, logout(legacy).status());
    assertRevoked(api.get("/meetings", legacy));
    assertRevoked(api.get("/meetings", current));
    // a new login's token carries the new generation
    String fresh = login(email, PASSWORD);
    assertEquals(1L, JWT.decode(fresh).getClaim(TokenService.GENERATION_CLAIM).asLong());
    assertEquals(200, api.get("/meetings", fresh).status());
  }

  /** A signed audio URL stands for its owner's token: a logout ends it too, and a new one works. */
  @Test
  void aLogoutEndsTheSignedAudioUrlsGivenBefore() {
    String token = api.user("audio-url@example.com");
    byte[] wav = Api.wav(0.3);
    String id = api.postRaw("/meetings", token, "audio/wav", wav).json().get("id").asText();
    String url = api.get("/meetings/" + id + "/audio-url", token).json().get("url").asText();
    assertEquals(200, api.get(url, null).status());

    assertEquals(204, logout(token).status());
    assertError(api.get(url, null), 401, "invalid_signature");

    String fresh = login("audio-url@example.com", PASSWORD);
    String again = api.get("/meetings/" + id + "/audio-url", fresh).json().get("url").asText();
    assertTrue(again.contains("&gen=1&"), again);
    assertArrayEquals(wav, api.get(again, null).body());
  }

  @Test
  void aTokenOfNoAccountIsRefused() {
    String ghost = legacyToken("00000000-0000-0000-0000-000000000000", "ghost@example.com");
    assertRevoked(api.get("/meetings", ghost));
    assertRevoked(logout(ghost));
    String signedButUnknown = new TokenService(SECRET, Duration.ofHours(1)).issue("no-such-user", "x@example.com", 7).token();
    assertRevoked(api.get("/auth/me", signedButUnknown));
  }

  @Test
  void aTokenNewerThanTheStoredGenerationIsNotTakenForForged() {
    // what a node with a stale cache sees after a logout and a new login elsewhere
    String email = "ahead@example.com";
    String id = api.get("/auth/me", api.user(email)).json().get("id").asText();
    String ahead = new TokenService(SECRET, Duration.ofHours(1)).issue(id, email, 3).token();
    assertEquals(200, api.get("/meetings", ahead).status());
  }
}
