package dev.parley.http.auth;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.UUID;
import javax.sql.DataSource;

/** The {@code users} table. Blocking JDBC: call on a blocking dispatcher. */
public final class UserRepository {

  /**
   * A stored account. {@code tokenGeneration} goes into the tokens issued to it; raising it revokes
   * every token issued before ({@link TokenGenerations}).
   */
  public record User(String id, String email, String passwordHash, long tokenGeneration) {}

  /** Thrown by {@link #create} when the email is taken. */
  public static final class DuplicateEmailException extends RuntimeException {
    public DuplicateEmailException(String email) {
      super("an account with this email already exists");
    }
  }

  private static final String COLUMNS = "id, email, password_hash, token_generation";

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
      return new User(id, email, passwordHash, 0);
    } catch (SQLException e) {
      if ("23505".equals(e.getSQLState())) throw new DuplicateEmailException(email);
      throw e;
    }
  }

  public Optional<User> findByEmail(String email) throws SQLException {
    return findOne("SELECT " + COLUMNS + " FROM users WHERE email = ?", email);
  }

  public Optional<User> findById(String id) throws SQLException {
    return findOne("SELECT " + COLUMNS + " FROM users WHERE id = ?", id);
  }

  /** The user's current token generation; empty when there is no such user. */
  public OptionalLong tokenGeneration(String id) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT token_generation FROM users WHERE id = ?")) {
      ps.setString(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? OptionalLong.of(rs.getLong(1)) : OptionalLong.empty();
      }
    }
  }

  /**
   * Sets a new password hash and revokes the user's tokens, if the stored hash is still {@code
   * expectedHash} (the one the current password was checked against): of two changes at once, one
   * wins and the other finds its current password no longer current. Whether it changed.
   */
  public boolean changePassword(String id, String expectedHash, String newHash) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement(
            "UPDATE users SET password_hash = ?, token_generation = token_generation + 1 WHERE id = ? AND password_hash = ?")) {
      ps.setString(1, newHash);
      ps.setString(2, id);
      ps.setString(3, expectedHash);
      return ps.executeUpdate() == 1;
    }
  }

  /** Revokes every token issued to the user so far. Whether the user exists. */
  public boolean revokeTokens(String id) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement("UPDATE users SET token_generation = token_generation + 1 WHERE id = ?")) {
      ps.setString(1, id);
      return ps.executeUpdate() == 1;
    }
  }

  private Optional<User> findOne(String sql, String key) throws SQLException {
    try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, key);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(new User(rs.getString(1), rs.getString(2), rs.getString(3), rs.getLong(4)))
            : Optional.empty();
      }
    }
  }
}
