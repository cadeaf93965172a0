package dev.parley.node;

import com.typesafe.config.Config;
import java.util.List;
import org.apache.pekko.cluster.ConfigValidation;
import org.apache.pekko.cluster.JoinConfigCompatChecker;
import scala.jdk.javaapi.CollectionConverters;

/**
 * What every node of one cluster must agree on, checked by the cluster when a node joins
 * ({@code pekko.cluster.configuration-compatibility-check}): the wire protocol ({@link
 * dev.parley.protocol.WireProtocol}) and the Meeting's shard count (nodes that count shards
 * differently would place one meeting in two shards, two live entities on one journal). A node
 * that differs is refused and exits with code 2; the cluster goes on without it.
 */
public final class ClusterCompatibility extends JoinConfigCompatChecker {
  static final List<String> KEYS = List.of("parley.wire-protocol", "parley.meeting.number-of-shards");

  @Override
  public scala.collection.immutable.Seq<String> requiredKeys() {
    return CollectionConverters.asScala(KEYS).toList();
  }

  @Override
  public ConfigValidation check(Config toCheck, Config actualConfig) {
    return JoinConfigCompatChecker.fullMatch(requiredKeys(), toCheck, actualConfig);
  }
}
