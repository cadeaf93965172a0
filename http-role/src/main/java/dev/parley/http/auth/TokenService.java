package dev.parley.http.auth;

import com.auth0.jwt.JWT;
import com.auth0.jwt.JWTVerifier;
import com.auth0.jwt.algorithms.Algorithm;
import com.auth0.jwt.exceptions.JWTVerificationException;
import com.auth0.jwt.interfaces.DecodedJWT;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/** HS256 JWTs: subject = user id, claim {@code email}, issuer {@code parley}. */
public final class TokenService {
  public static final String ISSUER = "parley";

  /** A signed token and when it expires. */
  public record Token(String token, Instant expiresAt) {}

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

  public Token issue(String userId, String email) {
    Instant now = clock.instant();
    Instant exp = now.plus(ttl).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    String token = JWT.create()
        .withIssuer(ISSUER)
        .withSubject(userId)
        .withClaim("email", email)
        .withIssuedAt(now)
        .withExpiresAt(exp)
        .sign(algorithm);
    return new Token(token, exp);
  }

  /** The user of a valid token; empty for a forged, malformed or expired one. */
  public Optional<AuthUser> verify(String token) {
    try {
      DecodedJWT jwt = verifier.verify(token);
      if (jwt.getSubject() == null || jwt.getExpiresAtAsInstant() == null) return Optional.empty();
      return Optional.of(new AuthUser(jwt.getSubject(), jwt.getClaim("email").asString()));
    } catch (JWTVerificationException e) {
      return Optional.empty();
    }
  }
}
