package dev.parley.protocol;

/**
 * Marker for every message that crosses the wire between nodes. Bound to {@code jackson-cbor}
 * in {@code config/application.conf}; nothing in Parley uses Java serialization.
 */
public interface CborSerializable {}
