package dev.parley.http.auth;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.completeOKWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;
import static org.apache.pekko.http.javadsl.server.Directives.withSizeLimit;

import dev.parley.http.web.ApiError;
import dev.parley.http.web.ApiException;
import dev.parley.http.web.Blocking;
import dev.parley.http.web.Json;
import java.text.Normalizer;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.apache.pekko.Done;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.HttpChallenge;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.javadsl.model.headers.WWWAuthenticate;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /auth/register}, {@code POST /auth/login}, {@code POST /auth/password},
 * {@code POST /auth/logout}, and the bearer-token check every {@code /meetings} route goes through
 * ({@link #authenticated}), which refuses tokens revoked by a password change or a logout
 * ({@link TokenGenerations}).
 */
public final class AuthRoutes {
  private static final Logger log = LoggerFactory.getLogger(AuthRoutes.class);
  /** Local part, @, dotted domain; no white space, control or invisible formatting characters anywhere. */
  private static final Pattern EMAIL =
      Pattern.compile("^[^@\\s\\p{Z}\\p{Cc}\\p{Cf}]{1,64}@[^@\\s\\p{Z}\\p{Cc}\\p{Cf}.]+(\\.[^@\\s\\p{Z}\\p{Cc}\\p{Cf}.]+)+$");
  public static final int MIN_PASSWORD = 8;
  public static final int MAX_PASSWORD = 1024;

  public record Credentials(String email, String password) {}

  public record Registered(String id, String email) {}

  public record LoginResponse(String token, Instant expiresAt, String tokenType) {}

  public record PasswordChange(String currentPassword, String newPassword) {}

  private final UserRepository users;
  private final PasswordHasher hasher;
  private final TokenService tokens;
  private final Executor blocking;
  private final long maxJsonBody;
  private final LoginThrottle throttle;
  private final TokenGenerations generations;

  /** {@code blocking} runs bcrypt and the JDBC of these routes; {@code generations} has its own executor. */
  public AuthRoutes(UserRepository users, PasswordHasher hasher, TokenService tokens, TokenGenerations generations,
      Executor blocking, long maxJsonBody, int loginMaxFailures, Duration loginFailureWindow) {
    this.users = users;
    this.hasher = hasher;
    this.tokens = tokens;
    this.generations = generations;
    this.blocking = blocking;
    this.maxJsonBody = maxJsonBody;
    this.throttle = new LoginThrottle(loginMaxFailures, loginFailureWindow);
  }

  public Route routes() {
    return pathPrefix("auth", () -> concat(
        path("register", () -> post(() -> Json.answering(() -> withSizeLimit(maxJsonBody, () ->
            entity(Json.unmarshaller(Credentials.class), c -> onSuccess(register(c), r ->
                complete(StatusCodes.CREATED, r, Json.marshaller()))))))),
        path("login", () -> post(() -> Json.answering(() -> withSizeLimit(maxJsonBody, () ->
            entity(Json.unmarshaller(Credentials.class), c -> completeOKWithFuture(login(c), Json.marshaller())))))),
        // who a stored token belongs to, and whether it still works (401 once it has expired or was revoked)
        path("me", () -> get(() -> authenticated(user -> complete(StatusCodes.OK, user, Json.marshaller())))),
        // the token first: without a valid one, what the body says does not matter
        path("password", () -> post(() -> authenticated(user -> withSizeLimit(maxJsonBody, () ->
            entity(Json.unmarshaller(PasswordChange.class), p -> onSuccess(changePassword(user, p), done ->
                complete(StatusCodes.NO_CONTENT))))))),
        path("logout", () -> post(() -> authenticated(user -> onSuccess(logout(user), done ->
            complete(StatusCodes.NO_CONTENT)))))));
  }

  /** Normalised email, or a 400. */
  static String email(Credentials c) {
    if (c == null || c.email() == null || c.email().isBlank()) throw new ApiException(StatusCodes.BAD_REQUEST, "invalid_email", "email is required");
    String e = normalised(c.email());
    if (e.length() > 254 || !EMAIL.matcher(e).matches()) throw new ApiException(StatusCodes.BAD_REQUEST, "invalid_email", "email is not a valid address");
    return e;
  }

  /**
   * One spelling per address: trimmed, lower case, and Unicode NFC, so "é" typed as one code point
   * or as "e" plus a combining accent (as some keyboards and macOS file names give it) is one account.
   */
  static String normalised(String email) {
    return Normalizer.normalize(email.strip(), Normalizer.Form.NFC).toLowerCase(Locale.ROOT);
  }

  /**
   * The rules a password must meet to be set (at registration and at a change), or a 400
   * {@code invalid_password} whose message names {@code field}.
   */
  static void checkNewPassword(String pw, String field) {
    if (pw == null) throw new ApiException(StatusCodes.BAD_REQUEST, "invalid_password", field + " is required");
    if (pw.codePointCount(0, pw.length()) < MIN_PASSWORD) throw new ApiException(StatusCodes.BAD_REQUEST, "invalid_password", field + " must have at least " + MIN_PASSWORD + " characters");
    // spaces of any kind and invisible format characters (zero-width space, ...) make no password
    if (pw.codePoints().allMatch(ch -> Character.isWhitespace(ch) || Character.isSpaceChar(ch) || Character.getType(ch) == Character.FORMAT)) {
      throw new ApiException(StatusCodes.BAD_REQUEST, "invalid_password", field + " must not be only white space");
    }
    if (pw.length() > MAX_PASSWORD) throw new ApiException(StatusCodes.BAD_REQUEST, "invalid_password", field + " must have at most " + MAX_PASSWORD + " characters");
    if (!PasswordHasher.representable(pw)) {
      throw new ApiException(StatusCodes.BAD_REQUEST, "invalid_password", field + " must not contain NUL characters or unpaired UTF-16 surrogates");
    }
  }

  CompletionStage<Registered> register(Credentials c) {
    String email = email(c);
    String pw = c.password();
    checkNewPassword(pw, "password");
    return onBlocking(() -> {
      try {
        UserRepository.User u = users.create(email, hasher.hash(pw));
        log.info("registered user {}", u.id());
        return new Registered(u.id(), u.email());
      } catch (UserRepository.DuplicateEmailException d) {
        throw new ApiException(StatusCodes.CONFLICT, "email_taken", d.getMessage());
      }
    });
  }

  CompletionStage<LoginResponse> login(Credentials c) {
    if (c == null || c.email() == null || c.password() == null) {
      throw new ApiException(StatusCodes.BAD_REQUEST, "bad_request", "email and password are required");
    }
    String email = normalised(c.email());
    String pw = c.password();
    refusedIfHeld(email); // at once, without queueing for the blocking pool
    return onBlocking(() -> {
      // begun on the pool, where at most its threads' worth run at once: a burst to one account
      // waits in the pool's queue, in order, and is counted against the limit as each check starts
      try (LoginThrottle.Check check = begin(email)) {
        Optional<UserRepository.User> u = pw.length() > MAX_PASSWORD ? Optional.empty() : users.findByEmail(email);
        boolean ok = hasher.verify(pw.length() > MAX_PASSWORD ? "x" : pw, u.map(UserRepository.User::passwordHash).orElse(null));
        if (u.isEmpty() || !ok) {
          // only a well-formed address is logged: not a password typed into the wrong field, nor line breaks
          String who = email.length() <= 254 && EMAIL.matcher(email).matches() ? email : "(not an email address)";
          failedAttempt(check, "login for " + who + " failed (" + (u.isEmpty() ? "no such account" : "wrong password") + ")");
          throw new ApiException(StatusCodes.UNAUTHORIZED, "invalid_credentials", "invalid email or password");
        }
        check.succeeded();
        TokenService.Token t = tokens.issue(u.get().id(), u.get().email(), u.get().tokenGeneration());
        return new LoginResponse(t.token(), t.expiresAt(), "Bearer");
      }
    });
  }

  /** JDBC work of these routes on their dispatcher; an SQLException fails the future with it (503 when the database is away). */
  private <T> CompletableFuture<T> onBlocking(Blocking.Work<T> work) {
    return Blocking.supply(work, blocking);
  }

  /**
   * Counts a wrong password against the account's logins ({@link LoginThrottle}) and logs {@code what}
   * happened, with the hold when this failure starts or extends one.
   */
  private void failedAttempt(LoginThrottle.Check check, String what) {
    check.failed();
    Duration held = throttle.held(check.email());
    if (held.isZero()) {
      log.info("{}", what);
    } else {
      log.warn("{}; the account's logins are held back for {} s after repeated failures", what, held.toSeconds() + 1);
    }
  }

  /**
   * Starts a password check in {@link LoginThrottle}, or answers 429 while the account's logins are
   * held back or while as many of its checks are running as it has tries left; the check counts
   * against the limit from now on, so a burst of guesses sent at once is held back like one sent in turn.
   */
  private LoginThrottle.Check begin(String email) {
    LoginThrottle.Check check = throttle.begin(email);
    tooManyAttempts(check.refusedFor());
    return check;
  }

  /** 429 while the account's logins are held back, before a login queues for a password check. */
  private void refusedIfHeld(String email) {
    tooManyAttempts(throttle.held(email));
  }

  private static void tooManyAttempts(Duration wait) {
    if (!wait.isZero()) {
      long seconds = Math.max(1, (wait.toMillis() + 999) / 1000);
      throw new ApiException(StatusCodes.TOO_MANY_REQUESTS, "too_many_attempts",
          "too many failed logins for this account; try again in " + seconds + " s", RetryAfter.create(seconds));
    }
  }

  /**
   * A new password for the caller, who proves the current one; every token issued to them so far is
   * revoked (this one too: the client logs in again with the new password). A wrong current password
   * counts as a failed login in {@link LoginThrottle}, so a stolen token cannot be used to guess the
   * password faster than the login can; its 401 has no {@code invalid_token} challenge (the token is fine).
   */
  CompletionStage<Done> changePassword(AuthUser user, PasswordChange p) {
    if (p == null || p.currentPassword() == null || p.newPassword() == null) {
      throw new ApiException(StatusCodes.BAD_REQUEST, "bad_request", "currentPassword and newPassword are required");
    }
    checkNewPassword(p.newPassword(), "newPassword");
    return onBlocking(() -> {
      UserRepository.User u = users.findById(user.id()).orElseThrow(AuthRoutes::revoked);
      try (LoginThrottle.Check check = begin(u.email())) {
        String current = p.currentPassword();
        if (current.length() > MAX_PASSWORD || !hasher.verify(current, u.passwordHash())) {
          failedAttempt(check, "password change of user " + u.id() + " refused (wrong current password)");
          throw new ApiException(StatusCodes.UNAUTHORIZED, "invalid_credentials", "the current password is wrong");
        }
        check.succeeded();
      }
      // only if nobody changed it since it was read: of two changes at once one wins, and it has
      // revoked the other's token
      if (!users.changePassword(u.id(), u.passwordHash(), hasher.hash(p.newPassword()))) throw revoked();
      generations.invalidate(u.id());
      log.info("user {} changed their password; the tokens issued to them before are revoked", u.id());
      return Done.getInstance();
    });
  }

  /** Signs the caller out everywhere: every token issued to them so far is revoked, not only this one. */
  CompletionStage<Done> logout(AuthUser user) {
    return onBlocking(() -> {
      if (!users.revokeTokens(user.id())) throw revoked();
      generations.invalidate(user.id());
      log.info("user {} logged out everywhere; the tokens issued to them before are revoked", user.id());
      return Done.getInstance();
    });
  }

  /** What a 401 asks for: a bearer token (RFC 6750). */
  public static final WWWAuthenticate CHALLENGE = WWWAuthenticate.create(HttpChallenge.createOAuth2("parley"));
  /** RFC 6750's own spelling (Pekko's model would leave the error's quotes out, which some clients' parsers miss). */
  private static final RawHeader INVALID_TOKEN =
      RawHeader.create("WWW-Authenticate", "Bearer realm=\"parley\", error=\"invalid_token\"");

  /** Runs {@code inner} with the caller of a valid bearer token; 401 otherwise. */
  public Route authenticated(Function<AuthUser, Route> inner) {
    return optionalHeaderValueByName("Authorization", header -> {
      if (header.isEmpty()) return complete(unauthorized("missing bearer token").addHeader(CHALLENGE));
      String h = header.get().strip();
      if (h.length() < 7 || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
        return complete(unauthorized("the Authorization header must be 'Bearer <token>'").addHeader(CHALLENGE));
      }
      Optional<TokenService.Verified> token = tokens.verifyWithGeneration(h.substring(7).strip());
      if (token.isEmpty()) {
        // RFC 6750: a token was sent and is not valid, so a client knows to log in again
        return complete(unauthorized("invalid or expired token").addHeader(INVALID_TOKEN));
      }
      // revoked? From this node's cache of generations: a map lookup, the database only on a miss
      CompletableFuture<Long> current = generations.current(token.get().user().id());
      if (current.isDone() && !current.isCompletedExceptionally()) return admit(token.get(), current.join(), inner);
      return onSuccess(current, g -> admit(token.get(), g, inner));
    });
  }

  /** The user's current token generation, from this node's cache (see {@link TokenGenerations}). */
  public CompletableFuture<Long> generation(String userId) {
    return generations.current(userId);
  }

  private static Route admit(TokenService.Verified token, long current, Function<AuthUser, Route> inner) {
    if (!TokenGenerations.accepts(token.generation(), current)) {
      return complete(ApiError.response(StatusCodes.UNAUTHORIZED, "unauthorized",
          "the token has been revoked (a logout or a password change); log in again").addHeader(INVALID_TOKEN));
    }
    return inner.apply(token.user());
  }

  /** A 401 for a token revoked while its request ran, with the invalid_token challenge. */
  private static ApiException revoked() {
    return new ApiException(StatusCodes.UNAUTHORIZED, "unauthorized",
        "the token has been revoked (a logout or a password change); log in again", INVALID_TOKEN);
  }

  private static HttpResponse unauthorized(String message) {
    return ApiError.response(StatusCodes.UNAUTHORIZED, "unauthorized", message);
  }
}
