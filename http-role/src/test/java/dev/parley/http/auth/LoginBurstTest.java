package dev.parley.http.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.parley.http.testutil.Api;
import dev.parley.http.testutil.TestNode;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A code review found that the login limit held back only guesses sent in turn: the route checked
 * it before the bcrypt work was queued and the failures were counted after, so 60 wrong passwords
 * sent at once were all checked. A check now counts against the limit while it runs.
 */
class LoginBurstTest {
  @Test
  void aBurstOfLoginsWaitsItsTurnAndABurstOfGuessesIsHeldBackLikeOneSentInTurn(@TempDir Path dataDir) throws Exception {
    // the production bcrypt cost, so the checks are still running while the rest of the burst arrives
    try (TestNode node = TestNode.start("burst", dataDir, TestNode.embeddedH2(dataDir), List.of("http"),
        "parley.auth.bcrypt-cost = 10", null)) {
      Api api = new Api(node.base);
      api.user("workers@example.com");
      assertEquals(List.of(200), statuses(api, node.base, "workers@example.com", "correct-horse", 16).stream().distinct().toList(),
          "16 workers sharing an account log in at once: they queue for the auth pool, none is refused");
      api.user("victim@example.com");
      List<Integer> guesses = statuses(api, node.base, "victim@example.com", "wrong-guess", 60);
      assertEquals(List.of(401, 429), guesses.stream().distinct().sorted().toList(), "every answer is 401 or 429");
      long checked = guesses.stream().filter(s -> s == 401).count();
      assertTrue(checked <= 10, checked + " wrong passwords were checked; the limit is 10");
    }
  }

  /** The statuses of {@code n} logins sent at once. */
  private static List<Integer> statuses(Api api, String base, String email, String password, int n) throws Exception {
    String body = "{\"email\":\"" + email + "\",\"password\":\"" + password + "\"}";
    List<CompletableFuture<HttpResponse<String>>> burst = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      HttpRequest r = HttpRequest.newBuilder(URI.create(base + "/auth/login")).timeout(Duration.ofSeconds(60))
          .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
      burst.add(api.client.sendAsync(r, HttpResponse.BodyHandlers.ofString()));
    }
    List<Integer> out = new ArrayList<>();
    for (CompletableFuture<HttpResponse<String>> f : burst) out.add(f.get().statusCode());
    return out;
  }
}
