package dev.parley.node;

import com.typesafe.config.Config;
import java.util.List;
import org.apache.pekko.cluster.ConfigValidation;
import org.apache.pekko.cluster.Invalid;
import org.apache.pekko.cluster.JoinConfigCompatChecker;
import org.apache.pekko.cluster.Valid$;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

/**
 * What every node of one cluster must agree on, checked by the cluster when a node joins
 * ({@code pekko.cluster.configuration-compatibility-check}): the wire protocol ({@link
 * dev.parley.protocol.WireProtocol}) and the Meeting's shard count (nodes that count shards
 * differently would place one meeting in two shards, two live entities on one journal). A node
 * that differs is refused and exits with code 2; the cluster goes on without it.
 *
 * <p>Releases before this check (wire protocol 1) send none of these keys; a node of protocol 1
 * accepts them, so the first release with the check still rolls onto one without it.
 */
public final class ClusterCompatibility extends JoinConfigCompatChecker {
  static final String WIRE_PROTOCOL = "parley.wire-protocol";
  static final List<String> KEYS = List.of(WIRE_PROTOCOL, "parley.meeting.number-of-shards");

  @Override
  public Seq<String> requiredKeys() {
    return CollectionConverters.asScala(KEYS).toList();
  }

  @Override
  public ConfigValidation check(Config toCheck, Config actualConfig) {
    if (!toCheck.hasPath(WIRE_PROTOCOL)) {
      return actualConfig.getInt(WIRE_PROTOCOL) == 1
          ? Valid$.MODULE$
          : new Invalid(CollectionConverters.asScala(List.of(WIRE_PROTOCOL + " is " + actualConfig.getInt(WIRE_PROTOCOL)
              + " here and 1 (a release before the check) on the other side")).toList());
    }
    return JoinConfigCompatChecker.fullMatch(requiredKeys(), toCheck, actualConfig);
  }
}
