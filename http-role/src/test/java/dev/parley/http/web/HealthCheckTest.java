package dev.parley.http.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.junit.jupiter.api.Test;

/** /healthz follows the background database probe: down when the database stops answering, up again after. */
class HealthCheckTest {
  @Test
  void followsTheDatabase() {
    ActorTestKit kit = ActorTestKit.create("health", ConfigFactory.parseString("pekko.actor.provider = local"));
    try {
      AtomicBoolean down = new AtomicBoolean(false);
      AtomicBoolean closed = new AtomicBoolean(false);
      DataSource ds = (DataSource) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {DataSource.class},
          (p, m, args) -> {
            if (m.getName().equals("getConnection")) {
              if (down.get()) throw new SQLException("Connection to db.internal:5432 refused for user parley_admin");
              Connection c = DriverManager.getConnection("jdbc:h2:mem:health");
              return closed.get() ? closedDatabase(c) : c;
            }
            throw new UnsupportedOperationException(m.getName());
          });
      AtomicReference<String> notServing = new AtomicReference<>();
      HealthCheck h = new HealthCheck(kit.system(), ds, Duration.ofMillis(100),
          kit.system().dispatchers().lookup(DispatcherSelector.fromConfig("parley-http-blocking-dispatcher")),
          notServing::get);
      assertTrue(h.healthy(), "probed once before the constructor returns");
      TestProbe<Object> probe = kit.createTestProbe();
      Consumer<Boolean> becomes = healthy -> probe.awaitAssert(Duration.ofSeconds(3), () -> {
        assertEquals(healthy, h.healthy());
        return null;
      });
      becomes.accept(true);
      down.set(true);
      becomes.accept(false);
      assertEquals("database unreachable", h.reason(), "/healthz answers anyone: the driver's message stays in the log");
      down.set(false);
      becomes.accept(true);
      // H2 after it closed the database itself (a full disk): connections say valid, statements fail
      closed.set(true);
      becomes.accept(false);
      closed.set(false);
      becomes.accept(true);
      // a node that is not (or no longer) an Up cluster member cannot serve meetings either
      notServing.set("this node is not an Up cluster member (Joining)");
      becomes.accept(false);
      notServing.set(null);
      becomes.accept(true);
      h.stop();
    } finally {
      kit.shutdownTestKit();
    }
  }

  /** A connection as H2 hands it out once it has closed its database: isValid true, every statement failing. */
  static Connection closedDatabase(Connection real) {
    return (Connection) Proxy.newProxyInstance(HealthCheckTest.class.getClassLoader(),
        new Class<?>[] {Connection.class}, (p, m, args) -> switch (m.getName()) {
          case "isValid" -> true;
          case "createStatement" -> Proxy.newProxyInstance(HealthCheckTest.class.getClassLoader(),
              new Class<?>[] {Statement.class}, (sp, sm, sargs) -> {
                if (sm.getName().startsWith("execute")) throw new SQLException("The database has been closed", "90098");
                if (sm.getName().equals("close") || sm.getName().equals("setQueryTimeout")) return null;
                throw new UnsupportedOperationException(sm.getName());
              });
          default -> m.invoke(real, args);
        });
  }
}
