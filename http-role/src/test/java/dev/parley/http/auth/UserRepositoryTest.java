package dev.parley.http.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.zaxxer.hikari.HikariDataSource;
import dev.parley.http.db.Database;
import dev.parley.http.db.DbSettings;
import dev.parley.http.db.Schema;
import dev.parley.http.testutil.Postgres;
import dev.parley.http.testutil.TestNode;
import java.nio.file.Path;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The users table's token generation and password change, on PostgreSQL and on H2. */
class UserRepositoryTest {

  @Test
  void onPostgres() throws Exception {
    try (Postgres pg = Postgres.freshSchema(); HikariDataSource ds = Database.create(pg.db)) {
      Schema.migrate(pg.db);
      exercise(new UserRepository(ds));
    }
  }

  @Test
  void onH2(@TempDir Path dir) throws Exception {
    DbSettings db = TestNode.embeddedH2(dir);
    try (HikariDataSource ds = Database.create(db)) {
      Schema.migrate(db);
      exercise(new UserRepository(ds));
    }
  }

  static void exercise(UserRepository users) throws Exception {
    UserRepository.User ada = users.create("ada@example.com", "hash-1");
    UserRepository.User bob = users.create("bob@example.com", "hash-b");
    assertEquals(0, ada.tokenGeneration());
    assertEquals(ada, users.findById(ada.id()).orElseThrow());
    assertEquals(ada, users.findByEmail("ada@example.com").orElseThrow());
    assertEquals(OptionalLong.of(0), users.tokenGeneration(ada.id()));
    assertEquals(OptionalLong.empty(), users.tokenGeneration("no-such-user"));
    assertTrue(users.findById("no-such-user").isEmpty());

    assertTrue(users.revokeTokens(ada.id()));
    assertEquals(OptionalLong.of(1), users.tokenGeneration(ada.id()));
    assertFalse(users.revokeTokens("no-such-user"));

    // a change against a hash that is no longer stored (another change won) does nothing
    assertFalse(users.changePassword(ada.id(), "hash-0", "hash-2"));
    assertEquals("hash-1", users.findById(ada.id()).orElseThrow().passwordHash());
    assertEquals(OptionalLong.of(1), users.tokenGeneration(ada.id()));
    assertTrue(users.changePassword(ada.id(), "hash-1", "hash-2"));
    UserRepository.User changed = users.findById(ada.id()).orElseThrow();
    assertEquals("hash-2", changed.passwordHash());
    assertEquals(2, changed.tokenGeneration());
    assertFalse(users.changePassword(ada.id(), "hash-1", "hash-3"), "the old hash is not current any more");

    assertEquals(new UserRepository.User(bob.id(), "bob@example.com", "hash-b", 0), users.findById(bob.id()).orElseThrow(),
        "another user is untouched");
  }
}
