package dev.parley.http;

import com.typesafe.config.Config;
import dev.parley.http.auth.JwtSecrets;
import dev.parley.http.cluster.ClusterRoutes;
import dev.parley.http.web.Cors;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Typed settings of the http role, read once from the {@code parley} config block.
 *
 * @param gpuDownUnreachableAfter how long an unreachable gpu node stays before the http nodes down it
 *     ({@code parley.gpu.down-unreachable-after})
 * @param gpuScale what {@code GET /autoscale} computes with ({@code parley.gpu.concurrency}, {@code max-nodes})
 * @param audioUrlTtl how long a signed audio URL is valid ({@code parley.http.audio-url-ttl})
 * @param corsOrigins origins whose browser apps may call the API ({@code parley.http.cors-origins}, comma-separated;
 *     empty: none but the API's own)
 * @param revocationCacheTtl how long a node trusts the token generation it read for a user
 *     ({@code parley.auth.revocation-cache-ttl}): how long a revoked token may still work on other
 *     http nodes; 0 = read the database on every request
 * @param uploadProbeTimeout how long an upload waits for its meeting's entity to answer before its
 *     body is read, asked only while an http node is unreachable ({@code parley.http.upload-probe-timeout};
 *     {@code MeetingService})
 */
public record HttpSettings(
    String bindHost,
    int port,
    long maxUpload,
    String jwtSecret,
    Duration tokenTtl,
    Path dataDir,
    Duration askTimeout,
    Duration uploadStallTimeout,
    Duration uploadProbeTimeout,
    int maxConcurrentUploads,
    int maxConcurrentUploadsPerUser,
    int listDefaultLimit,
    int listMaxLimit,
    Duration listCacheTtl,
    Duration healthCheckInterval,
    long maxJsonBody,
    int bcryptCost,
    int loginMaxFailures,
    Duration loginFailureWindow,
    Duration revocationCacheTtl,
    Duration gpuDownUnreachableAfter,
    ClusterRoutes.ScaleSettings gpuScale,
    Duration audioUrlTtl,
    List<String> corsOrigins) {

  /**
   * The dispatcher for the http role's blocking work that has no pool of its own: JDBC of the meeting
   * list, the read side and token generations, opening audio for download, blob deletion and the
   * hourly sweeps, off the default dispatcher. Logins,
   * health probes and uploads have their own ({@link #AUTH_DISPATCHER}, {@link #HEALTH_DISPATCHER},
   * {@link #UPLOAD_DISPATCHER}), so that none of them waits behind the others.
   */
  public static final String BLOCKING_DISPATCHER = "parley-http-blocking-dispatcher";
  /** Streaming uploads into the blob store, {@code max-concurrent-uploads} threads. */
  public static final String UPLOAD_DISPATCHER = "parley-http-upload-dispatcher";
  /** Register, login, password change and logout: bcrypt and their JDBC. */
  public static final String AUTH_DISPATCHER = "parley-http-auth-dispatcher";
  /** The /healthz probe. */
  public static final String HEALTH_DISPATCHER = "parley-http-health-dispatcher";

  public HttpSettings {
    if (maxUpload < 1) throw new IllegalArgumentException("parley.http.max-upload (PARLEY_MAX_UPLOAD) must be positive");
    if (!jwtSecret.isBlank()) JwtSecrets.check(jwtSecret);
    positive("parley.http.token-ttl (PARLEY_TOKEN_TTL)", tokenTtl);
    positive("parley.http.audio-url-ttl", audioUrlTtl);
    positive("parley.http.ask-timeout", askTimeout);
    positive("parley.http.upload-stall-timeout", uploadStallTimeout);
    positive("parley.http.upload-probe-timeout", uploadProbeTimeout);
    positive("parley.http.health-check-interval", healthCheckInterval);
    positive("parley.auth.login-failure-window", loginFailureWindow);
    positive("parley.gpu.down-unreachable-after (PARLEY_GPU_DOWN_AFTER)", gpuDownUnreachableAfter);
    if (listCacheTtl.isNegative()) throw new IllegalArgumentException("parley.http.list-cache-ttl (PARLEY_LIST_CACHE_TTL) must not be negative");
    Cors.check(corsOrigins);
    if (bcryptCost < 4 || bcryptCost > 31) throw new IllegalArgumentException("parley.auth.bcrypt-cost (PARLEY_BCRYPT_COST) must be 4..31");
    if (loginMaxFailures < 1) throw new IllegalArgumentException("parley.auth.login-max-failures must be positive");
    if (revocationCacheTtl.isNegative()) throw new IllegalArgumentException("parley.auth.revocation-cache-ttl (PARLEY_REVOCATION_CACHE_TTL) must not be negative");
    if (maxConcurrentUploads < 1 || maxConcurrentUploadsPerUser < 1)
      throw new IllegalArgumentException("parley.http.max-concurrent-uploads and -per-user must be positive");
    if (listDefaultLimit < 1 || listMaxLimit < listDefaultLimit)
      throw new IllegalArgumentException("parley.http.list-default-limit must be 1..list-max-limit");
  }

  private static void positive(String name, Duration d) {
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(
          name + " must be positive, not " + d.toString().substring(2).toLowerCase(Locale.ROOT));
    }
  }

  public static HttpSettings fromConfig(Config parley) {
    Config h = parley.getConfig("http");
    return new HttpSettings(
        h.getString("bind-host"),
        h.getInt("port"),
        h.getBytes("max-upload"),
        h.getString("jwt-secret"),
        h.getDuration("token-ttl"),
        Path.of(parley.getString("data-dir")).toAbsolutePath().normalize(),
        h.getDuration("ask-timeout"),
        h.getDuration("upload-stall-timeout"),
        h.getDuration("upload-probe-timeout"),
        h.getInt("max-concurrent-uploads"),
        h.getInt("max-concurrent-uploads-per-user"),
        h.getInt("list-default-limit"),
        h.getInt("list-max-limit"),
        h.getDuration("list-cache-ttl"),
        h.getDuration("health-check-interval"),
        h.getBytes("max-json-body"),
        parley.getInt("auth.bcrypt-cost"),
        parley.getInt("auth.login-max-failures"),
        parley.getDuration("auth.login-failure-window"),
        parley.getDuration("auth.revocation-cache-ttl"),
        parley.getDuration("gpu.down-unreachable-after"),
        new ClusterRoutes.ScaleSettings(parley.getInt("gpu.concurrency"), parley.getInt("gpu.max-nodes")),
        h.getDuration("audio-url-ttl"),
        Arrays.stream(h.getString("cors-origins").split(",")).map(String::strip).filter(o -> !o.isEmpty())
            .toList());
  }
}
