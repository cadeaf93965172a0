package dev.parley.http.auth;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;

/** The {@code users} table. Blocking JDBC: call on a blocking dispatcher. */
public final class UserRepository {

  /** A stored account. */
  public record User(String id, String email, String passwordHash) {}

  /** Thrown by {@link #create} when the email is taken. */
  public static final class DuplicateEmailException extends RuntimeException {
    public DuplicateEmailException(String email) {
      super("an account with this email already exists");
    }
  }

  private final DataSource ds;

  public UserRepository(DataSource ds) {
    this.ds = ds;
  }

  public User create(String email, String passwordHash) throws SQLException {
    String id = UUID.randomUUID().toString();
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement(
            "INSERT INTO users (id, email, password_hash, created_at) VALUES (?, ?, ?, ?)")) {
      ps.setString(1, id);
      ps.setString(2, email);
      ps.setString(3, passwordHash);
      ps.setLong(4, System.currentTimeMillis());
      ps.executeUpdate();
      return new User(id, email, passwordHash);
    } catch (SQLException e) {
      if ("23505".equals(e.getSQLState())) throw new DuplicateEmailException(email);
      throw e;
    }
  }

  public Optional<User> findByEmail(String email) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT id, email, password_hash FROM users WHERE email = ?")) {
      ps.setString(1, email);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(new User(rs.getString(1), rs.getString(2), rs.getString(3))) : Optional.empty();
      }
    }
  }
}
