package dev.parley.node;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class EnvironmentVariablesTest {

  @Test
  void theReadmeTableAndApplicationConfNameTheSameVariables() throws Exception {
    Set<String> declared = EnvironmentVariables.declared().stream().map(EnvironmentVariables.Variable::name)
        .collect(Collectors.toCollection(TreeSet::new));
    Set<String> documented = new TreeSet<>();
    Matcher row = Pattern.compile("(?m)^\\| (`\\w+`(, `\\w+`)*) \\|").matcher(Files.readString(Path.of("../README.md")));
    while (row.find()) {
      Matcher name = Pattern.compile("`(\\w+)`").matcher(row.group(1));
      while (name.find()) documented.add(name.group(1));
    }
    assertEquals(documented, declared);
  }

  @Test
  void aDurationWithoutAUnitIsRefusedNotReadAsMilliseconds() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> EnvironmentVariables.check(Map.of("PARLEY_GPU_IDLE_TIMEOUT", "300")));
    assertEquals("PARLEY_GPU_IDLE_TIMEOUT=300 needs a unit, as in its default 5m: ms, s, m, h or d"
        + " (a bare number would be read as milliseconds)", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> EnvironmentVariables.check(Map.of("PARLEY_TOKEN_TTL", " 86400 ")));
    assertDoesNotThrow(() -> EnvironmentVariables.check(Map.of(
        "PARLEY_GPU_IDLE_TIMEOUT", "300s", "PARLEY_TOKEN_TTL", "2 hours", "PARLEY_RESEND_INTERVAL", "500ms",
        // numbers where numbers belong: a count, a port, bytes, and a variable Parley does not read
        "PARLEY_GPU_CONCURRENCY", "2", "PARLEY_HTTP_PORT", "9000", "PARLEY_MAX_UPLOAD", "1000000", "PARLEY_FOO", "5")));
    // 0 is 0 in any unit: the README's "0 = off" for the caches (a review)
    assertDoesNotThrow(() -> EnvironmentVariables.check(Map.of("PARLEY_REVOCATION_CACHE_TTL", "0",
        "PARLEY_LIST_CACHE_TTL", " 0 ", "PARLEY_GPU_RESULT_LINGER", "0.0")));
  }

  /** A review: a misspelt variable was ignored without a word. */
  @Test
  void aVariableNoSettingReadsIsWarnedOfWithTheOneItMostLikelyMeans() {
    assertEquals(List.of("PARLEY_GPU_IDLE_TIMOUT is not a Parley setting and is ignored (did you mean PARLEY_GPU_IDLE_TIMEOUT?)",
            "PARLEY_WHATEVER_ELSE is not a Parley setting and is ignored"),
        EnvironmentVariables.unknown(Map.of("PARLEY_GPU_IDLE_TIMOUT", "1m", "PARLEY_WHATEVER_ELSE", "x",
            "PARLEY_GPU_IDLE_TIMEOUT", "5m", "PARLEY_SHARED", "/data/shared", "PORT", "8080", "HOME", "/root")));
  }

  @Test
  void aBadValueFromTheEnvironmentNamesTheVariableThatSetIt() {
    ConfigException bytes = assertThrows(ConfigException.class,
        () -> ConfigFactory.parseMap(Map.of("max-upload", "abc"), "env variables").getBytes("max-upload"));
    String explained = EnvironmentVariables.explain(bytes, Map.of("PARLEY_MAX_UPLOAD", "abc", "PARLEY_HTTP_PORT", "x"));
    assertTrue(explained.startsWith(bytes.getMessage()), explained);
    assertTrue(explained.endsWith(" (set by PARLEY_MAX_UPLOAD)"), explained);

    ConfigException type = assertThrows(ConfigException.class,
        () -> ConfigFactory.parseMap(Map.of("gpu.concurrency", "abc"), "env variables").getInt("gpu.concurrency"));
    assertTrue(EnvironmentVariables.explain(type, Map.of("PARLEY_GPU_CONCURRENCY", "abc"))
        .endsWith(" (set by PARLEY_GPU_CONCURRENCY)"), type.getMessage());

    // a setting's own check names the variable too, once
    assertEquals("parley.gpu.concurrency must be >= 1, got 0 (set by PARLEY_GPU_CONCURRENCY)",
        EnvironmentVariables.explain("parley.gpu.concurrency must be >= 1, got 0", Map.of("PARLEY_GPU_CONCURRENCY", "0")));
    assertEquals("parley.http.token-ttl (PARLEY_TOKEN_TTL) must be positive",
        EnvironmentVariables.explain("parley.http.token-ttl (PARLEY_TOKEN_TTL) must be positive", Map.of("PARLEY_TOKEN_TTL", "-5s")));

    // QA: "port" is two settings' last name; the message's full path says which (it named the other port's variable)
    Map<String, String> ports = Map.of("PARLEY_HTTP_PORT", "18151", "PARLEY_CLUSTER_PORT", "-1", "PORT", "80");
    assertEquals("parley.cluster.port (PARLEY_CLUSTER_PORT) must be a port in 0..65535, got -1",
        EnvironmentVariables.explain("parley.cluster.port (PARLEY_CLUSTER_PORT) must be a port in 0..65535, got -1", ports));
    assertEquals("parley.http.port must be a port in 0..65535, got 70000 (set by PORT, PARLEY_HTTP_PORT)",
        EnvironmentVariables.explain("parley.http.port must be a port in 0..65535, got 70000", ports));
    // the review: with only the other port's variable set, the value came from elsewhere: no variable is named
    assertEquals("parley.cluster.port (PARLEY_CLUSTER_PORT) must be a port in 0..65535, got -1",
        EnvironmentVariables.explain("parley.cluster.port (PARLEY_CLUSTER_PORT) must be a port in 0..65535, got -1",
            Map.of("PARLEY_HTTP_PORT", "8080")));
    assertTrue(EnvironmentVariables.declared().contains(new EnvironmentVariables.Variable("PARLEY_CLUSTER_PORT",
        "parley.cluster.port", "25520")), EnvironmentVariables.declared().toString());

    // not from the environment (a config file, a system property): the message as it is
    ConfigException file = assertThrows(ConfigException.class,
        () -> ConfigFactory.parseString("max-upload = abc").getBytes("max-upload"));
    assertEquals(file.getMessage(), EnvironmentVariables.explain(file, Map.of("PARLEY_MAX_UPLOAD", "abc")));
  }
}
