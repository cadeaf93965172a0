package dev.parley.protocol;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The version of what Parley nodes send each other and write to the journal. Nodes of different
 * versions refuse to share a cluster: the one that joins is turned away and exits with code 2 (the
 * cluster's join check, {@code parley.wire-protocol}). Raise it with a change that a node of the
 * previous release cannot read correctly: a new message it receives, a new event or enum value, a field whose meaning
 * changed, a stricter rule on a field. Such a release is deployed by stopping every node first;
 * releases that keep the version roll node by node (README, "Upgrades").
 */
public final class WireProtocol {
  public static final int VERSION = 1;

  /**
   * This build's release ({@code project.version}): the nodes' {@code pekko.cluster.app-version}, so that
   * during a rolling upgrade sharding starts new shards on the newest release and does not rebalance, and
   * what {@code GET /cluster} shows per member.
   */
  public static final String RELEASE = release();

  private WireProtocol() {}

  private static String release() {
    try (var in = WireProtocol.class.getResourceAsStream("release.properties")) {
      var p = new Properties();
      if (in != null) p.load(in);
      String v = p.getProperty("version", "");
      if (v.isBlank() || v.contains("${")) throw new IllegalStateException("release.properties was not filtered by the build");
      return v;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
