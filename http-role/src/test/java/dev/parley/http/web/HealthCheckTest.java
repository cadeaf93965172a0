package dev.parley.http.web;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.reflect.Proxy;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.junit.jupiter.api.Test;

/** /healthz follows the background database probe: down when the database stops answering, up again after. */
class HealthCheckTest {
  @Test
  void followsTheDatabase() {
    ActorTestKit kit = ActorTestKit.create("health", com.typesafe.config.ConfigFactory.parseString("pekko.actor.provider = local"));
    try {
      AtomicBoolean down = new AtomicBoolean(false);
      DataSource ds = (DataSource) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {DataSource.class},
          (p, m, args) -> {
            if (m.getName().equals("getConnection")) {
              if (down.get()) throw new SQLException("Connection refused");
              return DriverManager.getConnection("jdbc:h2:mem:health");
            }
            throw new UnsupportedOperationException(m.getName());
          });
      java.util.concurrent.atomic.AtomicReference<String> notServing = new java.util.concurrent.atomic.AtomicReference<>();
      HealthCheck h = new HealthCheck(kit.system(), ds, Duration.ofMillis(100),
          kit.system().dispatchers().lookup(DispatcherSelector.fromConfig("parley-http-blocking-dispatcher")),
          notServing::get);
      TestProbe<Object> probe = kit.createTestProbe();
      java.util.function.Consumer<Boolean> becomes = healthy -> probe.awaitAssert(Duration.ofSeconds(3), () -> {
        assertEquals(healthy, h.healthy());
        return null;
      });
      becomes.accept(true);
      down.set(true);
      becomes.accept(false);
      down.set(false);
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
}
