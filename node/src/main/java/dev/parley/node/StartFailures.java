package dev.parley.node;

import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.file.FileSystemException;
import java.sql.SQLException;
import java.util.Set;

/**
 * Why a node could not start, said in one line. A failure of the node's surroundings (a port another
 * process holds, a database or host that does not answer, a file it may not touch) is explained by
 * its messages alone, so the operator gets that line and no stack trace; anything else is a bug and
 * keeps its trace.
 */
final class StartFailures {
  /** SQLSTATE classes of a database that cannot be reached or will not let the node in. */
  private static final Set<String> UNREACHABLE_DATABASE = Set.of(
      "08", // connection exception
      "28", // invalid authorization (user or password)
      "3D", // invalid catalog name (no such database)
      "57"); // operator intervention (the server is starting or shutting down)

  private StartFailures() {}

  /**
   * The failure's own message, followed by its root cause's when that adds something (only the first
   * line of each: some libraries' messages go on for a screen).
   */
  static String describe(Throwable failure) {
    String message = failure.getMessage() == null
        ? failure.getClass().getName()
        : (explained(failure) ? "" : failure.getClass().getName() + ": ") + firstLine(failure.getMessage());
    String because = rootMessage(failure);
    return because == null || message.contains(because) ? message : message + ": " + because;
  }

  /**
   * The first line of the innermost cause's message, or null when it has none or is the failure
   * itself. A database driver's own error counts as innermost: it names the server ("Connection to
   * db:5432 refused"), where the socket error under it only says "Connection refused".
   */
  static String rootMessage(Throwable failure) {
    Throwable root = failure;
    while (root.getCause() != null && root.getCause() != root && !(root instanceof SQLException)) root = root.getCause();
    return root == failure || root.getMessage() == null ? null : firstLine(root.getMessage());
  }

  /** Whether the messages say it all: somewhere in the chain is a failure of the node's surroundings. */
  static boolean explained(Throwable failure) {
    for (Throwable c = failure; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof SocketException || c instanceof UnknownHostException || c instanceof FileSystemException) {
        return true;
      }
      if (c instanceof SQLException e && e.getSQLState() != null && e.getSQLState().length() >= 2
          && UNREACHABLE_DATABASE.contains(e.getSQLState().substring(0, 2))) {
        return true;
      }
      if (c instanceof Explained) return true;
    }
    return false;
  }

  private static String firstLine(String message) {
    int end = message.indexOf('\n');
    return (end < 0 ? message : message.substring(0, end)).strip();
  }

  /** A start failure whose message names the cause and the remedy. */
  static final class Explained extends IllegalStateException {
    Explained(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
