package dev.parley.http.db;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where Parley's database is, read once from {@code parley.db} (and {@code parley.data-dir} for the
 * embedded default). An empty {@code parley.db.url} means an H2 file database under the data dir.
 *
 * <p>{@link #pekkoConfig()} gives the matching {@code pekko-persistence-jdbc.shared-databases.parley}
 * block, so the journal, snapshot store and read journal use the same database as Parley's tables,
 * and the split-brain resolver strategy that fits the database.
 */
public record DbSettings(String url, String user, String password, int poolSize) {

  public static final String POSTGRES_PROFILE = "slick.jdbc.PostgresProfile$";
  public static final String H2_PROFILE = "slick.jdbc.H2Profile$";

  public DbSettings {
    if (url == null || url.isBlank()) throw new IllegalArgumentException("parley.db.url must not be empty here");
    if (!url.startsWith("jdbc:postgresql:") && !url.startsWith("jdbc:h2:")) {
      throw new IllegalArgumentException(
          "parley.db.url must be a jdbc:postgresql: or jdbc:h2: URL, got " + safeUrl(url));
    }
    if (poolSize < 1) throw new IllegalArgumentException("parley.db.pool-size must be >= 1");
    user = user == null ? "" : user;
    password = password == null ? "" : password;
  }

  /** Reads {@code db.*} and {@code data-dir} from the {@code parley} config block. */
  public static DbSettings fromConfig(Config parley) {
    String url = parley.getString("db.url").trim();
    if (url.isEmpty()) url = h2FileUrl(Path.of(parley.getString("data-dir")));
    return new DbSettings(url, parley.getString("db.user"), parley.getString("db.password"), parley.getInt("db.pool-size"));
  }

  /**
   * The embedded default: {@code jdbc:h2:file:<abs data-dir>/db/parley;DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0}.
   * H2's own JVM shutdown hook would close the database while the node's coordinated shutdown
   * still writes events; the node closes it itself, last ({@code ParleyNode}). H2 also closes the
   * database when its last connection closes (no {@code DB_CLOSE_DELAY}), so a pool that reconnects
   * after that {@code SHUTDOWN} cannot keep the file open and locked once the pools close. {@code WRITE_DELAY=0}
   * writes every commit to the file before it returns: by default H2 writes commits in the
   * background up to a second later, so a killed process lost meetings it had answered 202 for.
   */
  public static String h2FileUrl(Path dataDir) {
    Path file = dataDir.toAbsolutePath().normalize().resolve("db").resolve("parley");
    return "jdbc:h2:file:" + file + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0";
  }

  public boolean isPostgres() {
    return url.startsWith("jdbc:postgresql:");
  }

  public String slickProfile() {
    return isPostgres() ? POSTGRES_PROFILE : H2_PROFILE;
  }

  public String driverClass() {
    return isPostgres() ? "org.postgresql.Driver" : "org.h2.Driver";
  }

  /** "postgres" or "h2": the folder of the schema files. */
  public String dialect() {
    return isPostgres() ? "postgres" : "h2";
  }

  /**
   * The Pekko settings that follow from this database; put it in front of the loaded config
   * ({@code db.pekkoConfig().withFallback(config)}) before the ActorSystem starts:
   *
   * <ul>
   *   <li>the {@code pekko-persistence-jdbc.shared-databases.parley} block (journal, snapshots, read journal);
   *   <li>on H2, the split-brain resolver's {@code keep-majority} instead of the configured
   *       {@code lease-majority}: an H2 file belongs to one process, so a lease in it could arbitrate
   *       nothing between nodes, and a cluster on H2 has a single http node, which keep-majority
   *       (on role http) always keeps.
   * </ul>
   */
  public Config pekkoConfig() {
    String p = "pekko-persistence-jdbc.shared-databases.parley.";
    Config c = ConfigFactory.parseMap(Map.of(
            p + "profile", slickProfile(),
            p + "db.url", url,
            p + "db.user", user,
            p + "db.password", password,
            p + "db.driver", driverClass(),
            p + "db.numThreads", poolSize,
            p + "db.maxConnections", poolSize,
            p + "db.minConnections", 1))
        .withValue(p + "db.connectionTimeout", ConfigValueFactory.fromAnyRef("5s"));
    if (isPostgres()) {
      // as Database.create's pool: a read on a vanished server fails in 2 minutes, not when TCP gives up
      c = c.withValue(p + "db.properties.socketTimeout", ConfigValueFactory.fromAnyRef("120"))
          .withValue(p + "db.properties.tcpKeepAlive", ConfigValueFactory.fromAnyRef("true"));
    } else {
      c = c.withValue("pekko.cluster.split-brain-resolver.active-strategy", ConfigValueFactory.fromAnyRef("keep-majority"));
    }
    return c;
  }

  /** The URL without credentials that may be embedded in it, for logs and errors. */
  public String safeUrl() {
    return safeUrl(url);
  }

  static String safeUrl(String url) {
    return url.replaceAll("(?i)(password=)[^&;]*", "$1***");
  }

  @Override
  public String toString() {
    return "DbSettings[url=" + safeUrl() + ", user=" + user + ", poolSize=" + poolSize + "]";
  }
}
