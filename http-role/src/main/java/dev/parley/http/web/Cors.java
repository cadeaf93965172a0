package dev.parley.http.web;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.handleRejections;
import static org.apache.pekko.http.javadsl.server.Directives.respondWithDefaultHeaders;

import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.Map;
import org.apache.pekko.http.cors.javadsl.CorsDirectives;
import org.apache.pekko.http.cors.javadsl.CorsRejection;
import org.apache.pekko.http.cors.javadsl.settings.CorsSettings;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.AccessControlRequestMethod;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * CORS for a browser app on another origin ({@code PARLEY_CORS_ORIGINS}), by pekko-http-cors (no
 * credentials: the API takes bearer tokens, not cookies):
 * preflights are answered before any route (so before the bearer-token check), and every answer to
 * an allowed origin, errors included, carries its {@code Access-Control-*} headers. A request from
 * an origin not on the list is served as before, without them (the browser then keeps the answer
 * from the page; a same-origin page behind a reverse proxy sends an Origin header too), and its
 * preflight is refused with 403.
 */
public final class Cors {
  /** Response headers a cross-origin page may read beyond the CORS-safelisted ones. */
  static final List<String> EXPOSED_HEADERS =
      List.of("Location", "Content-Range", "Accept-Ranges", "Content-Disposition", "Retry-After", "ETag", "WWW-Authenticate",
          "Idempotent-Replayed");
  /** A listed origin's answer differs from another's: a cache must key it by Origin. */
  private static final List<HttpHeader> VARY_ORIGIN = List.of(RawHeader.create("Vary", "Origin"));
  static final List<String> METHODS = List.of("GET", "HEAD", "POST", "DELETE", "OPTIONS");

  private Cors() {}

  /**
   * {@code inner} answering browsers on {@code origins} ({@code scheme://host[:port]}, or {@code *}
   * for any origin); {@code inner} itself when the list is empty. Build it once: a route built inside
   * a directive's supplier is built again for every request.
   *
   * @throws IllegalArgumentException for an entry that is not an origin
   */
  public static Route wrap(List<String> origins, Route inner) {
    if (origins.isEmpty()) return inner;
    CorsSettings settings = settings(origins);
    Route cors = CorsDirectives.cors(settings, () -> inner);
    RejectionHandler refused = RejectionHandler.newBuilder()
        .handle(CorsRejection.class, r -> extractRequest(req -> isPreflight(req)
            ? complete(ApiError.response(StatusCodes.FORBIDDEN, "cors_forbidden",
                "cross-origin request refused: " + r.cause().description()))
            : inner))
        .build();
    Route handled = handleRejections(refused, () -> cors);
    return origins.contains("*") ? handled : respondWithDefaultHeaders(VARY_ORIGIN, () -> handled);
  }

  /**
   * Checks {@code origins} as {@link #wrap} reads them, at start-up ({@code HttpSettings}).
   *
   * @throws IllegalArgumentException for an entry that is not an origin ({@code https://app.example.com/} included)
   */
  public static void check(List<String> origins) {
    if (!origins.isEmpty()) settings(origins);
  }

  static CorsSettings settings(List<String> origins) {
    boolean any = origins.contains("*");
    try {
      return CorsSettings.create(ConfigFactory.parseMap(Map.of(
              "pekko.http.cors.allowed-origins", any ? "*" : origins,
              // bearer tokens are no credentials in CORS' sense (cookies, client certificates): the API uses none
              "pekko.http.cors.allow-credentials", false,
              "pekko.http.cors.allowed-methods", METHODS,
              "pekko.http.cors.exposed-headers", EXPOSED_HEADERS))
          .withFallback(ConfigFactory.defaultReference()));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("PARLEY_CORS_ORIGINS must list origins such as https://app.example.com, "
          + "or *: " + origins + " (" + e.getMessage() + ")", e);
    }
  }

  private static boolean isPreflight(HttpRequest req) {
    return req.method().equals(HttpMethods.OPTIONS) && req.getHeader(AccessControlRequestMethod.class).isPresent();
  }
}
