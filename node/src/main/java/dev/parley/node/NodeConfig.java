package dev.parley.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import dev.parley.http.db.DbSettings;
import dev.parley.protocol.WireProtocol;
import java.util.List;

/**
 * The Pekko settings Main derives from the typed Parley settings, laid over the loaded config
 * before the ActorSystem starts: roles, seed nodes, canonical address, the journal's database (and the
 * split-brain resolver strategy that fits it: {@link DbSettings#pekkoConfig()}), the release
 * ({@link WireProtocol#RELEASE}), the exit behaviour
 * of a standalone process and the wire protocol the cluster's join check compares ({@link ClusterCompatibility}).
 */
public final class NodeConfig {
  private NodeConfig() {}

  /** The configuration as loaded: {@code application.conf} with its {@code PARLEY_*} overrides, system properties. */
  public static Config load() {
    return ConfigFactory.load();
  }

  /**
   * Loads with {@code overrides} in front of {@code application.conf} before substitutions are
   * resolved, so derived values ({@code pekko.remote.artery.canonical.port = ${parley.cluster.port}})
   * follow the overrides. For tests and embedding.
   */
  public static Config load(Config overrides) {
    return ConfigFactory.load(overrides.withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
  }

  /**
   * @param standalone a real process: coordinated shutdown ends the JVM with exit code 0 after a
   *     graceful leave (an idle gpu node exits this way). Off in tests that run several nodes in one JVM.
   */
  public static Config overlay(NodeSettings node, DbSettings db, boolean standalone) {
    Config c = ConfigFactory.empty()
        .withValue("pekko.cluster.roles", ConfigValueFactory.fromIterable(List.copyOf(node.roles())))
        .withValue("pekko.remote.artery.canonical.hostname", ConfigValueFactory.fromAnyRef(node.host()))
        .withValue("pekko.remote.artery.canonical.port", ConfigValueFactory.fromAnyRef(node.clusterPort()))
        .withValue("pekko.coordinated-shutdown.exit-jvm", ConfigValueFactory.fromAnyRef(standalone ? "on" : "off"))
        .withValue("pekko.coordinated-shutdown.exit-code", ConfigValueFactory.fromAnyRef(0))
        .withValue("parley.wire-protocol", ConfigValueFactory.fromAnyRef(WireProtocol.VERSION))
        .withValue("pekko.cluster.app-version", ConfigValueFactory.fromAnyRef(WireProtocol.RELEASE))
        .withValue("pekko.cluster.configuration-compatibility-check.checkers.parley",
            ConfigValueFactory.fromAnyRef(ClusterCompatibility.class.getName()));
    if (!node.seedNodes().isEmpty()) {
      c = c.withValue("pekko.cluster.seed-nodes", ConfigValueFactory.fromIterable(node.seedNodes()));
    }
    return db.pekkoConfig().withFallback(c);
  }
}
