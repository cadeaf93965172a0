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
import dev.parley.http.web.Json;
import java.text.Normalizer;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.regex.Pattern;
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
 * {@code POST /auth/register}, {@code POST /auth/login}, and the bearer-token check every
 * {@code /meetings} route goes through ({@link #authenticated}).
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

  private final UserRepository users;
  private final PasswordHasher hasher;
  private final TokenService tokens;
  private final Executor blocking;
  private final long maxJsonBody;
  private final LoginThrottle throttle;

  public AuthRoutes(UserRepository users, PasswordHasher hasher, TokenService tokens, Executor blocking, long maxJsonBody,
      int loginMaxFailures, java.time.Duration loginFailureWindow) {
    this.users = users;
    this.hasher = hasher;
    this.tokens = tokens;
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
        // who a stored token belongs to, and whether it still works (401 once it has expired)
        path("me", () -> get(() -> authenticated(user -> complete(StatusCodes.OK, user, Json.marshaller()))))));
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

  CompletionStage<Registered> register(Credentials c) {
    String email = email(c);
    String pw = c.password();
    if (pw == null) throw new ApiException(StatusCodes.BAD_REQUEST, "invalid_password", "password is required");
    if (pw.codePointCount(0, pw.length()) < MIN_PASSWORD) throw new ApiException(StatusCodes.BAD_REQUEST, "invalid_password", "password must have at least " + MIN_PASSWORD + " characters");
    // spaces of any kind and invisible format characters (zero-width space, ...) make no password
    if (pw.codePoints().allMatch(ch -> Character.isWhitespace(ch) || Character.isSpaceChar(ch) || Character.getType(ch) == Character.FORMAT)) {
      throw new ApiException(StatusCodes.BAD_REQUEST, "invalid_password", "password must not be only white space");
    }
    if (pw.length() > MAX_PASSWORD) throw new ApiException(StatusCodes.BAD_REQUEST, "invalid_password", "password must have at most " + MAX_PASSWORD + " characters");
    if (!PasswordHasher.representable(pw)) {
      throw new ApiException(StatusCodes.BAD_REQUEST, "invalid_password", "password must not contain NUL characters or unpaired UTF-16 surrogates");
    }
    return CompletableFuture.supplyAsync(() -> {
      try {
        UserRepository.User u = users.create(email, hasher.hash(pw));
        log.info("registered user {}", u.id());
        return new Registered(u.id(), u.email());
      } catch (UserRepository.DuplicateEmailException d) {
        throw new ApiException(StatusCodes.CONFLICT, "email_taken", d.getMessage());
      } catch (java.sql.SQLException e) {
        throw new java.util.concurrent.CompletionException(e);
      }
    }, blocking);
  }

  CompletionStage<LoginResponse> login(Credentials c) {
    if (c == null || c.email() == null || c.password() == null) {
      throw new ApiException(StatusCodes.BAD_REQUEST, "bad_request", "email and password are required");
    }
    String email = normalised(c.email());
    String pw = c.password();
    java.time.Duration wait = throttle.wait(email);
    if (!wait.isZero()) {
      long seconds = wait.toSeconds() + 1;
      throw new ApiException(StatusCodes.TOO_MANY_REQUESTS, "too_many_attempts",
          "too many failed logins for this account; try again in " + seconds + " s", RetryAfter.create(seconds));
    }
    return CompletableFuture.supplyAsync(() -> {
      try {
        Optional<UserRepository.User> u = pw.length() > MAX_PASSWORD ? Optional.empty() : users.findByEmail(email);
        boolean ok = hasher.verify(pw.length() > MAX_PASSWORD ? "x" : pw, u.map(UserRepository.User::passwordHash).orElse(null));
        if (u.isEmpty() || !ok) {
          throttle.failed(email);
          java.time.Duration held = throttle.wait(email);
          // only a well-formed address is logged: not a password typed into the wrong field, nor line breaks
          String who = email.length() <= 254 && EMAIL.matcher(email).matches() ? email : "(not an email address)";
          if (!held.isZero()) {
            log.warn("login for {} failed ({}); the account's logins are held back for {} s after repeated failures",
                who, u.isEmpty() ? "no such account" : "wrong password", held.toSeconds() + 1);
          } else {
            log.info("login for {} failed ({})", who, u.isEmpty() ? "no such account" : "wrong password");
          }
          throw new ApiException(StatusCodes.UNAUTHORIZED, "invalid_credentials", "invalid email or password");
        }
        throttle.succeeded(email);
        TokenService.Token t = tokens.issue(u.get().id(), u.get().email());
        return new LoginResponse(t.token(), t.expiresAt(), "Bearer");
      } catch (java.sql.SQLException e) {
        throw new java.util.concurrent.CompletionException(e);
      }
    }, blocking);
  }

  private static final WWWAuthenticate CHALLENGE = WWWAuthenticate.create(HttpChallenge.createOAuth2("parley"));
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
      Optional<AuthUser> user = tokens.verify(h.substring(7).strip());
      if (user.isEmpty()) {
        // RFC 6750: a token was sent and is not valid, so a client knows to log in again
        return complete(unauthorized("invalid or expired token").addHeader(INVALID_TOKEN));
      }
      return inner.apply(user.get());
    });
  }

  private static HttpResponse unauthorized(String message) {
    return ApiError.response(StatusCodes.UNAUTHORIZED, "unauthorized", message);
  }
}
