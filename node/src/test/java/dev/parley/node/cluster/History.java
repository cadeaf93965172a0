package dev.parley.node.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Reads GET /meetings/{id}/history: the meeting's persisted events in order, each
 * {@code {sequenceNr, timestamp, type, event}}.
 */
final class History {
  private History() {}

  static List<JsonNode> events(JsonNode history) {
    JsonNode arr = history.isArray() ? history : history.path("events");
    if (!arr.isArray()) throw new AssertionError("history is not a list of events: " + history);
    return Api.list(arr);
  }

  static String type(JsonNode event) {
    return event.path("type").asText().toLowerCase(Locale.ROOT);
  }

  static List<JsonNode> ofType(JsonNode history, String type) {
    return events(history).stream().filter(e -> type(e).equals(type)).collect(Collectors.toList());
  }

  static String types(JsonNode history) {
    return events(history).stream().map(History::type).collect(Collectors.joining(","));
  }
}
