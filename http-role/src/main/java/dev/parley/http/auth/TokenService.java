package dev.parley.http.auth;

import com.auth0.jwt.JWT;
import com.auth0.jwt.JWTVerifier;
import com.auth0.jwt.algorithms.Algorithm;
import com.auth0.jwt.exceptions.JWTVerificationException;
import com.auth0.jwt.interfaces.Claim;
import com.auth0.jwt.interfaces.DecodedJWT;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

/**
 * HS256 JWTs: subject = user id, claim {@code email}, claim {@code gen} (the user's token generation
 * when it was issued, see {@link TokenGenerations}), issuer {@code parley}. A token without
 * {@code gen} (issued before revocation existed) is generation 0.
 */
public final class TokenService {
  public static final String ISSUER = "parley";
  /** The claim with the user's token generation the token was issued in. */
  public static final String GENERATION_CLAIM = "gen";

  /** A signed token and when it expires. */
  public record Token(String token, Instant expiresAt) {}

  /** What a valid token says: whose it is, and the generation of that user's tokens it belongs to. */
  public record Verified(AuthUser user, long generation) {}

  private final Algorithm algorithm;
  private final JWTVerifier verifier;
  private final Duration ttl;
  private final Clock clock;

  public TokenService(String secret, Duration ttl) {
    this(secret, ttl, Clock.systemUTC());
  }

  public TokenService(String secret, Duration ttl, Clock clock) {
    if (secret == null || secret.length() < 16) throw new IllegalArgumentException("JWT secret must have at least 16 characters");
    this.algorithm = Algorithm.HMAC256(secret);
    this.verifier = JWT.require(algorithm).withIssuer(ISSUER).acceptLeeway(0).build();
    this.ttl = ttl;
    this.clock = clock;
  }

  /** A token of generation 0. */
  public Token issue(String userId, String email) {
    return issue(userId, email, 0);
  }

  public Token issue(String userId, String email, long generation) {
    Instant now = clock.instant();
    Instant exp = now.plus(ttl).truncatedTo(ChronoUnit.SECONDS);
    String token = JWT.create()
        .withIssuer(ISSUER)
        .withSubject(userId)
        .withClaim("email", email)
        .withClaim(GENERATION_CLAIM, generation)
        .withIssuedAt(now)
        .withExpiresAt(exp)
        .sign(algorithm);
    return new Token(token, exp);
  }

  /**
   * The user of a token that is signed, unexpired and well-formed; empty otherwise. This does not
   * know whether the token was revoked: {@link #verifyWithGeneration} and {@link TokenGenerations} do.
   */
  public Optional<AuthUser> verify(String token) {
    return verifyWithGeneration(token).map(Verified::user);
  }

  /** {@link #verify}, with the token's generation (0 for a token without the claim). */
  public Optional<Verified> verifyWithGeneration(String token) {
    try {
      DecodedJWT jwt = verifier.verify(token);
      if (jwt.getSubject() == null || jwt.getExpiresAtAsInstant() == null) return Optional.empty();
      Claim gen = jwt.getClaim(GENERATION_CLAIM);
      long generation = 0;
      if (!gen.isMissing() && !gen.isNull()) {
        Long g = gen.asLong();
        Double d = gen.asDouble(); // asLong cuts 1.5 to 1: only a whole number is a generation
        if (g == null || d == null || g < 0 || d != g.doubleValue()) return Optional.empty();
        generation = g;
      }
      return Optional.of(new Verified(new AuthUser(jwt.getSubject(), jwt.getClaim("email").asString()), generation));
    } catch (JWTVerificationException e) {
      return Optional.empty();
    }
  }
}
