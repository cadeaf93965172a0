package dev.parley.node.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.typesafe.config.ConfigFactory;
import dev.parley.http.cluster.ClusterRoutes;
import dev.parley.node.NodeConfig;
import dev.parley.node.NodeSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The deployment files in {@code config/deploy} (Docker, Compose, Kubernetes, systemd) cannot be run on the
 * machines that build Parley, so this checks what makes them work against the code: the variables they set
 * exist, roles and seed nodes parse, ports are the node's, seed nodes name the http pods' own canonical
 * host names, and the gpu autoscaler reads a field {@code GET /autoscale} really answers.
 */
class DeploymentFilesTest {
  private static final Path ROOT = Path.of(System.getProperty("user.dir")).resolve("..").normalize();
  private static final Path DEPLOY = ROOT.resolve("config/deploy");
  private static final YAMLMapper YAML = new YAMLMapper();
  private static final NodeSettings DEFAULTS = NodeSettings.fromConfig(NodeConfig.load(ConfigFactory.empty()).getConfig("parley"));

  @Test
  void everyVariableTheFilesSetIsADocumentedSetting() throws IOException {
    Set<String> documented = new TreeSet<>();
    Matcher row = Pattern.compile("(?m)^\\| `([A-Z_]+)`(?:, `([A-Z_]+)`)?").matcher(Files.readString(ROOT.resolve("README.md")));
    while (row.find()) {
      documented.add(row.group(1));
      if (row.group(2) != null) documented.add(row.group(2));
    }
    assertTrue(documented.size() > 20, "README configuration table not found: " + documented);
    List<Path> files;
    try (Stream<Path> s = Files.walk(DEPLOY)) {
      files = s.filter(Files::isRegularFile).sorted().toList();
    }
    assertTrue(files.size() >= 7, "deployment files: " + files);
    Map<String, Path> used = new LinkedHashMap<>();
    for (Path f : files) {
      Matcher m = Pattern.compile("PARLEY_[A-Z_]+").matcher(Files.readString(f));
      while (m.find()) used.putIfAbsent(m.group(), f);
    }
    used.forEach((name, file) -> assertTrue(documented.contains(name), name + " in " + ROOT.relativize(file) + " is not a setting"));
  }

  /**
   * Kubernetes gives every pod a {@code {SERVICE}_PORT=tcp://ip:port} variable per Service in its
   * namespace: the Service parley-http makes that PARLEY_HTTP_PORT, which the node refuses (exit 2).
   */
  private static void assertServiceLinksOff(JsonNode podSpec) {
    assertTrue(podSpec.has("enableServiceLinks") && !podSpec.path("enableServiceLinks").asBoolean(),
        "pods must set enableServiceLinks: false, or Service parley-http sets PARLEY_HTTP_PORT=tcp://...");
  }

  @Test
  void kubernetesHttpPodsAreTheirOwnSeedNodes() throws IOException {
    Map<String, JsonNode> k8s = kubernetes();
    JsonNode set = k8s.get("StatefulSet/parley-http");
    String headless = set.at("/spec/serviceName").asText();
    JsonNode headlessService = k8s.get("Service/" + headless);
    assertEquals("None", headlessService.at("/spec/clusterIP").asText());
    assertTrue(headlessService.at("/spec/publishNotReadyAddresses").asBoolean(), "pods must resolve before they are ready, or none can seed");
    assertServiceLinksOff(set.at("/spec/template/spec"));
    JsonNode container = set.at("/spec/template/spec/containers/0");
    Map<String, JsonNode> env = env(container);
    assertEquals(Set.of("http"), NodeSettings.parseRoles(env.get("PARLEY_ROLES").path("value").asText()));
    assertEquals("$(POD_NAME)." + headless, env.get("PARLEY_HOST").path("value").asText());
    assertEquals("metadata.name", env.get("POD_NAME").at("/valueFrom/fieldRef/fieldPath").asText());
    assertEquals("0.0.0.0", env.get("PARLEY_CLUSTER_BIND").path("value").asText());
    // every replica, in order, by the name it gives itself: Pekko only accepts a seed under its canonical address
    int replicas = set.at("/spec/replicas").asInt();
    String seeds = env.get("PARLEY_SEED_NODES").path("value").asText();
    assertEquals(IntStream.range(0, replicas).mapToObj(i -> "parley-http-" + i + "." + headless + ":" + DEFAULTS.clusterPort())
        .collect(Collectors.joining(",")), seeds);
    assertEquals(replicas, NodeSettings.parseSeedNodes(seeds).size());
    assertEquals(DEFAULTS.clusterPort(), port(container, "remoting"));
    assertEquals(DEFAULTS.httpPort(), port(container, "http"));
    assertEquals("/healthz", container.at("/readinessProbe/httpGet/path").asText());
    assertEquals("remoting", headlessService.at("/spec/ports/0/targetPort").asText());
    assertEquals("http", k8s.get("Service/parley-http").at("/spec/ports/0/targetPort").asText());
  }

  @Test
  void kubernetesGpuPodsScaleOnTheAutoscaleSignalAndJoinTheHttpPods() throws IOException {
    Map<String, JsonNode> k8s = kubernetes();
    JsonNode job = k8s.get("ScaledJob/parley-gpu");
    JsonNode trigger = job.at("/spec/triggers/0");
    assertEquals("metrics-api", trigger.path("type").asText());
    JsonNode httpService = k8s.get("Service/parley-http");
    // KEDA's operator polls from its own namespace: the short name would not resolve there
    String namespace = YAML.readTree(DEPLOY.resolve("kubernetes/kustomization.yaml").toFile()).path("namespace").asText();
    assertFalse(namespace.isEmpty(), "kustomization.yaml sets no namespace");
    assertEquals("http://parley-http." + namespace + ".svc.cluster.local:" + httpService.at("/spec/ports/0/port").asInt()
        + "/autoscale", trigger.at("/metadata/url").asText());
    String field = trigger.at("/metadata/valueLocation").asText();
    assertTrue(Arrays.stream(ClusterRoutes.ScaleSignal.class.getRecordComponents()).anyMatch(c -> c.getName().equals(field)),
        "GET /autoscale has no field " + field);
    Map<String, JsonNode> httpEnv = env(k8s.get("StatefulSet/parley-http").at("/spec/template/spec/containers/0"));
    assertEquals(httpEnv.get("PARLEY_GPU_MAX_NODES").path("value").asInt(), job.at("/spec/maxReplicaCount").asInt());

    JsonNode pod = job.at("/spec/jobTargetRef/template/spec");
    assertServiceLinksOff(pod);
    assertEquals("OnFailure", pod.path("restartPolicy").asText(), "exit 0 (idle) ends the Job; 70, 75 and 255 restart");
    Map<String, JsonNode> env = env(pod.at("/containers/0"));
    assertEquals(Set.of("gpu"), NodeSettings.parseRoles(env.get("PARLEY_ROLES").path("value").asText()));
    assertEquals("status.podIP", env.get("PARLEY_HOST").at("/valueFrom/fieldRef/fieldPath").asText());
    assertEquals(httpEnv.get("PARLEY_SEED_NODES").path("value").asText(), env.get("PARLEY_SEED_NODES").path("value").asText());
    for (String shared : List.of("PARLEY_DB_URL", "PARLEY_DB_USER", "PARLEY_DB_PASSWORD", "PARLEY_BLOB_STORE", "PARLEY_GPU_CONCURRENCY")) {
      assertEquals(httpEnv.get(shared), env.get(shared), shared + " must be the same on both roles");
    }
    assertEquals("postgres", env.get("PARLEY_BLOB_STORE").path("value").asText(), "pods share no disk");
    assertEquals(1, pod.at("/containers/0/resources/limits/nvidia.com~1gpu").asInt());
  }

  @Test
  void composeNodesJoinTheHttpServiceByName() throws IOException {
    JsonNode services = YAML.readTree(DEPLOY.resolve("compose.yaml").toFile()).path("services");
    JsonNode http = services.path("http").path("environment");
    JsonNode gpu = services.path("gpu").path("environment");
    assertEquals("http", http.path("PARLEY_HOST").asText());
    String seeds = "http:" + DEFAULTS.clusterPort();
    assertEquals(seeds, http.path("PARLEY_SEED_NODES").asText());
    assertEquals(seeds, gpu.path("PARLEY_SEED_NODES").asText());
    assertEquals(Set.of("http"), NodeSettings.parseRoles(http.path("PARLEY_ROLES").asText()));
    assertEquals(Set.of("gpu"), NodeSettings.parseRoles(gpu.path("PARLEY_ROLES").asText()));
    assertEquals(DEFAULTS.httpPort() + ":" + DEFAULTS.httpPort(), services.path("http").path("ports").path(0).asText());
    assertEquals("postgres", gpu.path("PARLEY_BLOB_STORE").asText());
    assertFalse(gpu.has("PARLEY_HOST"), "a gpu container's host is its own IP, set by its entrypoint");
    assertTrue(services.path("gpu").path("entrypoint").toString().contains("PARLEY_HOST="), "gpu entrypoint sets PARLEY_HOST");
  }

  @Test
  void theImageRunsTheJarTheBuildMakesOnTheNodesPorts() throws IOException {
    String docker = Files.readString(DEPLOY.resolve("Dockerfile"));
    assertTrue(docker.contains("COPY node/target/parley.jar /opt/parley/parley.jar"), "the jar the README's build makes");
    assertTrue(docker.contains("EXPOSE " + DEFAULTS.httpPort() + " " + DEFAULTS.clusterPort()));
    assertTrue(docker.contains("ENTRYPOINT [\"java\", \"-jar\", \"/opt/parley/parley.jar\"]"));
    for (String unit : List.of("parley-http.service", "parley-gpu.service")) {
      String text = Files.readString(DEPLOY.resolve("systemd").resolve(unit));
      Matcher roles = Pattern.compile("Environment=PARLEY_ROLES=(\\S+)").matcher(text);
      assertTrue(roles.find(), unit);
      assertEquals(Set.of(unit.contains("gpu") ? "gpu" : "http"), NodeSettings.parseRoles(roles.group(1)));
      assertTrue(text.contains("-jar /opt/parley/parley.jar"), unit);
    }
  }

  /** Every object of the kustomization's resources, by {@code Kind/name}. */
  private static Map<String, JsonNode> kubernetes() throws IOException {
    Path dir = DEPLOY.resolve("kubernetes");
    Map<String, JsonNode> objects = new LinkedHashMap<>();
    List<String> resources = new ArrayList<>();
    YAML.readTree(dir.resolve("kustomization.yaml").toFile()).path("resources").forEach(r -> resources.add(r.asText()));
    assertFalse(resources.isEmpty());
    for (String r : resources) {
      try (var docs = YAML.readValues(YAML.getFactory().createParser(dir.resolve(r).toFile()), JsonNode.class)) {
        while (docs.hasNext()) {
          JsonNode o = docs.next();
          objects.put(o.path("kind").asText() + "/" + o.at("/metadata/name").asText(), o);
        }
      }
    }
    return objects;
  }

  private static Map<String, JsonNode> env(JsonNode container) {
    Map<String, JsonNode> env = new LinkedHashMap<>();
    container.path("env").forEach(e -> env.put(e.path("name").asText(), e));
    return env;
  }

  private static int port(JsonNode container, String name) {
    for (JsonNode p : container.path("ports")) {
      if (p.path("name").asText().equals(name)) return p.path("containerPort").asInt();
    }
    throw new AssertionError("no port " + name + " in " + container);
  }
}
