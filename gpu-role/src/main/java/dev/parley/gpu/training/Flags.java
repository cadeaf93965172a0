package dev.parley.gpu.training;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Command-line flags of the training commands: {@code --name value} pairs and bare switches,
 * checked against the flags a command knows, read with the command's defaults.
 */
final class Flags {
  private final Map<String, String> values = new HashMap<>();
  private final Set<String> switches = new HashSet<>();

  private Flags() {}

  /** {@code --help} or {@code -h}: the command prints its usage and succeeds. */
  static final class HelpRequested extends IllegalArgumentException {
    HelpRequested() {
      super("help");
    }
  }

  /**
   * @param withValue flags that take a value
   * @param bare flags that take none
   * @throws HelpRequested on {@code --help} or {@code -h}
   * @throws IllegalArgumentException on an unknown flag or a missing value
   */
  static Flags parse(String[] args, Set<String> withValue, Set<String> bare) {
    Flags f = new Flags();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--help") || a.equals("-h")) {
        throw new HelpRequested();
      } else if (bare.contains(a)) {
        f.switches.add(a);
      } else if (withValue.contains(a)) {
        if (i + 1 >= args.length) throw new IllegalArgumentException(a + " needs a value");
        f.values.put(a, args[++i]);
      } else {
        throw new IllegalArgumentException("unknown option " + a);
      }
    }
    return f;
  }

  boolean has(String flag) {
    return switches.contains(flag) || values.containsKey(flag);
  }

  /**
   * The exit code of a command whose flags did not parse: 0 after printing {@code usage} to stdout
   * for {@code --help}, else 2 after printing the error and {@code usage} to stderr.
   */
  static int refused(String command, IllegalArgumentException e, String usage) {
    if (e instanceof HelpRequested) {
      System.out.println(usage);
      return 0;
    }
    System.err.println(command + ": " + e.getMessage());
    System.err.println(usage);
    return 2;
  }

  String string(String flag, String otherwise) {
    return values.getOrDefault(flag, otherwise);
  }

  Path path(String flag, Path otherwise) {
    String v = values.get(flag);
    return v == null ? otherwise : Path.of(v);
  }

  /** A number that must be above zero. */
  double positive(String flag, double otherwise) {
    double d = number(flag, otherwise);
    if (!(d > 0)) throw new IllegalArgumentException(flag + " must be positive, not " + values.get(flag));
    return d;
  }

  /** A probability: a number from 0 to 1. */
  double probability(String flag, double otherwise) {
    double d = number(flag, otherwise);
    if (!(d >= 0 && d <= 1)) throw new IllegalArgumentException(flag + " must be from 0 to 1, not " + values.get(flag));
    return d;
  }

  private double number(String flag, double otherwise) {
    String v = values.get(flag);
    if (v == null) return otherwise;
    try {
      return Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + " needs a number, not " + v);
    }
  }

  /** A comma-separated list of numbers above zero, such as {@code 0.9,1.0,1.1}. */
  double[] positiveList(String flag, double[] otherwise) {
    String v = values.get(flag);
    if (v == null) return otherwise;
    String[] parts = v.split(",");
    double[] out = new double[parts.length];
    for (int i = 0; i < parts.length; i++) {
      try {
        out[i] = Double.parseDouble(parts[i].trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(flag + " needs numbers separated by commas, not " + v);
      }
      if (!(out[i] > 0)) throw new IllegalArgumentException(flag + " needs numbers above zero, not " + v);
    }
    return out;
  }

  /** A whole number that must be above zero. */
  int positiveInt(String flag, int otherwise) {
    double d = positive(flag, otherwise);
    if (d != Math.rint(d) || d > Integer.MAX_VALUE) throw new IllegalArgumentException(flag + " needs a whole number");
    return (int) d;
  }
}
