package dev.parley.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.BindException;
import java.sql.SQLException;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

class StartFailuresTest {
  @Test
  void aTakenPortIsOneLineWithItsCause() {
    Exception e = new IllegalStateException("cannot bind the HTTP API on 0.0.0.0:8080 (PARLEY_HTTP_PORT)",
        new ExecutionException(new RuntimeException("Bind failed because of java.net.BindException",
            new BindException("[/0.0.0.0:8080] Address already in use"))));
    assertEquals("cannot bind the HTTP API on 0.0.0.0:8080 (PARLEY_HTTP_PORT): [/0.0.0.0:8080] Address already in use",
        StartFailures.describe(e));
    assertTrue(StartFailures.explained(e));
  }

  @Test
  void aDatabaseThatDoesNotAnswerIsExplainedByItsFirstLines() {
    SQLException refused = new SQLException("Connection to 127.0.0.1:5439 refused.", "08001",
        new java.net.ConnectException("Connection refused"));
    Exception e = new IllegalStateException("the database jdbc:postgresql://127.0.0.1:5439/x was not ready after 30 tries",
        new IllegalStateException("migration failed: Unable to obtain connection\n-----\nSQL State  : 08001", refused));
    assertEquals("the database jdbc:postgresql://127.0.0.1:5439/x was not ready after 30 tries: Connection to"
        + " 127.0.0.1:5439 refused.", StartFailures.describe(e));
    assertTrue(StartFailures.explained(e));
    assertTrue(StartFailures.explained(new IllegalStateException("x", new SQLException("no such database", "3D000"))));
    assertTrue(StartFailures.explained(new IllegalStateException("x", new SQLException("bad password", "28P01"))));
  }

  @Test
  void aBugKeepsItsTypeAndIsNotExplained() {
    Exception npe = new NullPointerException();
    assertEquals("java.lang.NullPointerException", StartFailures.describe(npe));
    assertFalse(StartFailures.explained(npe));
    Exception wrapped = new IllegalStateException("the pipeline could not load", new ArithmeticException("/ by zero"));
    assertEquals("java.lang.IllegalStateException: the pipeline could not load: / by zero", StartFailures.describe(wrapped));
    assertFalse(StartFailures.explained(wrapped));
    // a database error that is not about reaching it (a syntax error in a migration) is a bug too
    assertFalse(StartFailures.explained(new IllegalStateException("x", new SQLException("syntax error", "42601"))));
  }

  @Test
  void anExplainedFailureNeedsNoTypeName() {
    Exception e = new StartFailures.Explained("the embedded database is in use by another process", null);
    assertEquals("the embedded database is in use by another process", StartFailures.describe(e));
  }
}
