package dev.parley.protocol;

/**
 * Marker for persisted events and snapshots. Bound to {@code jackson-json} so the journal stays
 * readable with plain SQL. Keep event types stable: a rename is a new type plus a migration.
 */
public interface JsonSerializable {}
