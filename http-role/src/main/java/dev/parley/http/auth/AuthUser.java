package dev.parley.http.auth;

/** The caller of an authenticated request. */
public record AuthUser(String id, String email) {}
