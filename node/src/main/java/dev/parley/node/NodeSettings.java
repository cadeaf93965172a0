package dev.parley.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.parley.http.blob.BlobStores;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What a node is, read once from the {@code parley} config section: its roles, where it listens
 * and which seed nodes it joins.
 *
 * @param roles {@code http}, {@code gpu} or both ({@code parley.roles}, {@code PARLEY_ROLES})
 * @param host host name other nodes reach this one by (Pekko canonical host)
 * @param clusterPort Pekko remoting port ({@code 0} = any free port)
 * @param seedNodes Pekko addresses ({@code pekko://parley@host:port}); empty = this node joins itself
 * @param httpPort HTTP port: the API on an http node, {@code /healthz} alone on a gpu-only node ({@code 0} = any free port)
 * @param httpBindHost the interface the HTTP port binds to ({@code parley.http.bind-host})
 * @param dataDir where the embedded default keeps its database, blobs and secret (absolute, normalised)
 * @param blobStore {@code parley.blob.store}
 * @param blobChunkSize row size of the database blob store in bytes ({@code parley.blob.chunk-size})
 */
public record NodeSettings(
    Set<String> roles, String host, int clusterPort, List<String> seedNodes, int httpPort, String httpBindHost,
    Path dataDir, BlobStores.Kind blobStore, long blobChunkSize) {

  public static final String SYSTEM_NAME = "parley";
  public static final String HTTP = "http";
  public static final String GPU = "gpu";

  public NodeSettings {
    roles = Collections.unmodifiableSet(new LinkedHashSet<>(roles));
    seedNodes = List.copyOf(seedNodes);
  }

  public static NodeSettings fromConfig(Config parley) {
    Set<String> roles = parseRoles(parley.getString("roles"));
    String clusterBind = parley.getString("cluster.bind-host");
    if (!clusterBind.isBlank()) bindAddress(clusterBind, "PARLEY_CLUSTER_BIND (parley.cluster.bind-host)");
    return new NodeSettings(
        roles,
        requireHost(parley.getString("host")),
        port(parley, "cluster.port", "PARLEY_CLUSTER_PORT"),
        parseSeedNodes(parley.getString("cluster.seed-nodes")),
        port(parley, "http.port", "PARLEY_HTTP_PORT or PORT"),
        bindAddress(parley.getString("http.bind-host"), "PARLEY_HTTP_BIND (parley.http.bind-host)"),
        Path.of(parley.getString("data-dir")).toAbsolutePath().normalize(),
        BlobStores.Kind.parse(parley.getString("blob.store")),
        parley.getBytes("blob.chunk-size"));
  }

  public boolean isHttp() {
    return roles.contains(HTTP);
  }

  public boolean isGpu() {
    return roles.contains(GPU);
  }

  /** {@code http}, {@code gpu}, {@code http,gpu} (any order, spaces allowed); anything else is an error. */
  public static Set<String> parseRoles(String value) {
    Set<String> roles = new LinkedHashSet<>();
    for (String part : value.split(",")) {
      String r = part.trim().toLowerCase(Locale.ROOT);
      if (r.isEmpty()) continue;
      if (!r.equals(HTTP) && !r.equals(GPU)) {
        throw new IllegalArgumentException(
            "PARLEY_ROLES (parley.roles) must be http, gpu or http,gpu; got '" + value + "' (unknown role '" + r + "')");
      }
      roles.add(r);
    }
    if (roles.isEmpty()) {
      throw new IllegalArgumentException("PARLEY_ROLES (parley.roles) must be http, gpu or http,gpu; got '" + value + "'");
    }
    // a stable order: http before gpu
    Set<String> ordered = new LinkedHashSet<>();
    if (roles.contains(HTTP)) ordered.add(HTTP);
    if (roles.contains(GPU)) ordered.add(GPU);
    return ordered;
  }

  /**
   * {@code host:port,host:port} (or full {@code pekko://parley@host:port} addresses) to Pekko
   * addresses of the {@code parley} actor system; empty = no seeds (the node joins itself).
   */
  public static List<String> parseSeedNodes(String value) {
    List<String> seeds = new ArrayList<>();
    for (String part : value.split(",")) {
      String s = part.trim();
      if (s.isEmpty()) continue;
      String hostPort = s;
      if (s.startsWith("pekko://")) {
        String prefix = "pekko://" + SYSTEM_NAME + "@";
        if (!s.startsWith(prefix)) {
          throw new IllegalArgumentException("PARLEY_SEED_NODES: '" + s + "' is not an address of the '" + SYSTEM_NAME
              + "' actor system (expected host:port or " + prefix + "host:port)");
        }
        hostPort = s.substring(prefix.length());
      }
      int colon = hostPort.lastIndexOf(':');
      if (colon <= 0 || colon == hostPort.length() - 1) {
        throw new IllegalArgumentException("PARLEY_SEED_NODES: '" + s + "' must be host:port");
      }
      String host = hostPort.substring(0, colon);
      int port;
      try {
        port = Integer.parseInt(hostPort.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("PARLEY_SEED_NODES: '" + s + "' has a port that is not a number");
      }
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("PARLEY_SEED_NODES: '" + s + "' has a port outside 1..65535");
      }
      seeds.add("pekko://" + SYSTEM_NAME + "@" + host + ":" + port);
    }
    return seeds;
  }

  private static final Pattern HOST_NAME =
      Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\\.?");
  private static final Pattern NUMERIC = Pattern.compile("[0-9.]+");

  /**
   * A host name or an IP address as other nodes will dial it. Only its form is checked: its DNS
   * record may not exist yet (a Kubernetes pod's name), but "bad host" or 999.1.1.1 never will.
   */
  private static String requireHost(String host) {
    String h = host.trim();
    if (h.isEmpty()) throw new IllegalArgumentException("PARLEY_HOST (parley.host) must not be empty");
    if (!isAddressLiteral(h) && (NUMERIC.matcher(h).matches() || !HOST_NAME.matcher(h).matches())) {
      throw new IllegalArgumentException("PARLEY_HOST (parley.host) must be a host name or an IP address, got '" + h + "'");
    }
    return h;
  }

  /** A dotted IPv4 address (four parts of 0..255) or an IPv6 one, read without asking DNS. */
  private static boolean isAddressLiteral(String h) {
    if (h.contains(":")) {
      try {
        return InetAddress.getByName(h.startsWith("[") ? h : "[" + h + "]") != null; // a literal: no lookup
      } catch (UnknownHostException e) {
        return false;
      }
    }
    String[] parts = h.split("\\.", -1);
    if (parts.length != 4) return false;
    for (String p : parts) {
      if (p.isEmpty() || p.length() > 3 || !NUMERIC.matcher(p).matches() || Integer.parseInt(p) > 255) return false;
    }
    return true;
  }

  /**
   * An address this machine can bind to: the wildcard, a loopback address, or one of its
   * interfaces' addresses, given as such or by a name that resolves to it now.
   */
  private static String bindAddress(String value, String name) {
    String v = value.trim();
    try {
      if (v.isEmpty() || NUMERIC.matcher(v).matches() && !isAddressLiteral(v)) throw new UnknownHostException(v);
      InetAddress a = InetAddress.getByName(v);
      if (a.isAnyLocalAddress() || a.isLoopbackAddress() || NetworkInterface.getByInetAddress(a) != null) return v;
    } catch (UnknownHostException | SocketException e) {
      // refused below
    }
    throw new IllegalArgumentException(name + " must be an address of this machine (0.0.0.0 for all), got '" + v + "'");
  }

  /** A port number in 0..65535 ({@code 0} = any free port). */
  private static int port(Config parley, String path, String variables) {
    String name = "parley." + path + " (" + variables + ")";
    int p;
    try {
      p = parley.getInt(path);
    } catch (ConfigException.WrongType e) {
      throw new IllegalArgumentException(name + " must be a port number, got '" + parley.getValue(path).unwrapped() + "'");
    }
    if (p < 0 || p > 65535) {
      throw new IllegalArgumentException(name + " must be a port in 0..65535, got " + p);
    }
    return p;
  }
}
