package dev.parley.protocol;

/**
 * Marker for persisted events. Bound to {@code jackson-json}, uncompressed, so the journal stays
 * readable with plain SQL. Keep event types stable: a rename is a new type plus a migration
 * ({@code JournalCompatibilityTest} holds every event as it was written).
 */
public interface JsonSerializable {}
