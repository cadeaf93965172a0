package dev.parley.node;

import com.typesafe.config.ConfigException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.text.similarity.LevenshteinDistance;

/**
 * The environment variables Parley's configuration reads (the {@code key = ${?VARIABLE}} lines of
 * {@code application.conf} and of the modules' {@code reference.conf}),
 * checked before the configuration is used. HOCON reads a bare number as milliseconds where a
 * duration is expected, so {@code PARLEY_GPU_IDLE_TIMEOUT=300} would be 0.3 s: a variable whose
 * default has a unit must have one too. And Typesafe Config names only the key of a bad value
 * ({@code Invalid value at 'max-upload'}), so {@link #explain} adds the variable that set it.
 */
final class EnvironmentVariables {
  private EnvironmentVariables() {}

  /** {@code name} sets the setting at path {@code key} ("parley.cluster.port"), whose default is {@code defaultValue}. */
  record Variable(String name, String key, String defaultValue) {}

  private static final Pattern ASSIGNMENT = Pattern.compile("^\\s*([\\w-]+)\\s*=\\s*(.*?)\\s*$");
  /** A line that opens an object: {@code cluster {}, {@code a.b = {}. */
  private static final Pattern OPENS = Pattern.compile("^\\s*([\\w.-]+)\\s*[:=]?\\s*\\{");
  /** What may hold braces that open or close no object: substitutions, quoted strings, comments. */
  private static final Pattern NOT_STRUCTURE = Pattern.compile("\\$\\{[^}]*}|\"(\\\\.|[^\"\\\\])*\"|(#|//).*$");
  /** Dotted names in a message: a setting's path, or its last part. */
  private static final Pattern PATH = Pattern.compile("[A-Za-z][\\w-]*(\\.[A-Za-z][\\w-]*)*");
  private static final Pattern SUBSTITUTION = Pattern.compile("\\$\\{\\?(\\w+)}");
  private static final Pattern DURATION = Pattern.compile(
      "\\d+(\\.\\d+)?\\s*(ns|us|ms|s|m|h|d|nanos?|micros?|millis?|seconds?|minutes?|hours?|days?)");
  private static final Pattern BARE_NUMBER = Pattern.compile("\\s*\\d+(\\.\\d+)?\\s*");

  /** Every Parley variable ({@code PARLEY_*}, and {@code PORT}) the configuration files read. */
  static List<Variable> declared() {
    List<Variable> out = new ArrayList<>();
    for (String file : configurationFiles()) {
      Map<String, String> lastLiteral = new HashMap<>();
      Deque<String> path = new ArrayDeque<>(); // the enclosing objects' names, innermost first
      for (String line : file.split("\n")) {
        Matcher a = ASSIGNMENT.matcher(line);
        if (a.matches()) {
          String key = String.join(".", reversed(path)) + (path.isEmpty() ? "" : ".") + a.group(1);
          Matcher s = SUBSTITUTION.matcher(a.group(2));
          if (s.matches() && (s.group(1).startsWith("PARLEY_") || s.group(1).equals("PORT"))) {
            out.add(new Variable(s.group(1), key, lastLiteral.get(key)));
          } else {
            lastLiteral.put(key, a.group(2).replace("\"", ""));
          }
        }
        String structure = NOT_STRUCTURE.matcher(line).replaceAll("");
        Matcher opens = OPENS.matcher(structure);
        boolean named = opens.find();
        for (char c : structure.toCharArray()) {
          if (c == '{') {
            path.push(named ? opens.group(1) : "");
            named = false;
          } else if (c == '}' && !path.isEmpty()) {
            path.pop();
          }
        }
      }
    }
    return out;
  }

  private static List<String> reversed(Deque<String> stack) {
    List<String> names = new ArrayList<>(stack);
    Collections.reverse(names);
    return names;
  }

  /** Throws {@link IllegalArgumentException} for a bare number where the default is a duration. */
  static void check(Map<String, String> env) {
    for (Variable v : declared()) {
      String value = env.get(v.name());
      if (value == null || v.defaultValue() == null) continue;
      // 0 is 0 in any unit (the README's "0 = off" for the caches)
      if (DURATION.matcher(v.defaultValue()).matches() && BARE_NUMBER.matcher(value).matches()
          && Double.parseDouble(value.strip()) != 0) {
        throw new IllegalArgumentException(v.name() + "=" + value.strip() + " needs a unit, as in its default "
            + v.defaultValue() + ": ms, s, m, h or d (a bare number would be read as milliseconds)");
      }
    }
  }

  /** PARLEY_ variables that Parley's own scripts read, not the node. */
  private static final Set<String> SCRIPT_VARIABLES = Set.of("PARLEY_SHARED");

  /**
   * A warning for each {@code PARLEY_*} variable that no setting reads, with the one it most likely
   * means (a review: PARLEY_GPU_IDLE_TIMOUT=1m left gpu nodes on the 5-minute default, unnoticed).
   * Not an error: a deployment may set variables for its own tools under the same prefix.
   */
  static List<String> unknown(Map<String, String> env) {
    List<Variable> declared = declared();
    List<String> warnings = new ArrayList<>();
    env.keySet().stream().filter(n -> n.startsWith("PARLEY_")).sorted().forEach(name -> {
      if (SCRIPT_VARIABLES.contains(name) || declared.stream().anyMatch(v -> v.name().equals(name))) return;
      String closest = null;
      int distance = Integer.MAX_VALUE;
      for (Variable v : declared) {
        int d = LevenshteinDistance.getDefaultInstance().apply(name, v.name());
        if (d < distance) {
          distance = d;
          closest = v.name();
        }
      }
      warnings.add(name + " is not a Parley setting and is ignored"
          + (closest != null && distance <= 3 ? " (did you mean " + closest + "?)" : ""));
    });
    return warnings;
  }

  /**
   * The message of a configuration error, with the variables that may have set the bad value when
   * it came from the environment (only those that are set, and whose key the message names).
   */
  static String explain(ConfigException e, Map<String, String> env) {
    if (e.origin() == null || !e.origin().description().contains("env variables")) return e.getMessage();
    return explain(e.getMessage(), env);
  }

  /**
   * {@code message}, a setting's check ("parley.gpu.concurrency must be >= 1"), with the variables
   * that are set and whose key it names, unless it names them already. The environment overrides
   * the configuration files, so a set variable is what the value came from.
   */
  static String explain(String message, Map<String, String> env) {
    // the variables whose setting the message names most precisely: "parley.cluster.port" is the
    // cluster port's alone, where a bare "port" could be either port's; the most precise match over
    // every variable, set or not, so that a set variable matching only loosely is not named instead
    List<Variable> declared = declared();
    int best = 0;
    for (Variable v : declared) best = Math.max(best, mentions(message, v.key()));
    List<String> set = new ArrayList<>();
    for (Variable v : declared) {
      if (best > 0 && env.containsKey(v.name()) && mentions(message, v.key()) == best && !message.contains(v.name())) {
        set.add(v.name()); // no values: secrets
      }
    }
    return set.isEmpty() ? message : message + " (set by " + String.join(", ", set) + ")";
  }

  /**
   * How precisely {@code message} names the setting at {@code key}: the number of path elements of
   * the longest name in it that ends {@code key}'s path ("cluster.port" 2, "port" 1), 0 for none.
   */
  private static int mentions(String message, String key) {
    int best = 0;
    Matcher m = PATH.matcher(message);
    while (m.find()) {
      String name = m.group();
      if (key.equals(name) || key.endsWith("." + name)) best = Math.max(best, name.split("\\.").length);
    }
    return best;
  }

  private static List<String> configurationFiles() {
    List<String> files = new ArrayList<>();
    try {
      ClassLoader loader = EnvironmentVariables.class.getClassLoader();
      for (String name : List.of("reference.conf", "application.conf")) {
        for (URL url : Collections.list(loader.getResources(name))) {
          try (InputStream in = url.openStream()) {
            files.add(new String(in.readAllBytes(), StandardCharsets.UTF_8));
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return files;
  }
}
