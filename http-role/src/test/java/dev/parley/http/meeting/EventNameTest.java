package dev.parley.http.meeting;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The history's {@code type} is each event type's {@link Meeting.EventName}, part of the public API:
 * every type has one, no two share one, and today's stay what clients have read since the first
 * release (the classes' simple names then), whatever the classes are called later.
 */
class EventNameTest {

  @Test
  void everyEventTypeHasItsOwnStableName() {
    Class<?>[] types = Meeting.Event.class.getPermittedSubclasses();
    // sealed: the permitted types are all the events there are
    Set<Class<?>> declared = Arrays.stream(Meeting.class.getDeclaredClasses())
        .filter(c -> Meeting.Event.class.isAssignableFrom(c) && c != Meeting.Event.class)
        .collect(Collectors.toSet());
    assertEquals(declared, Set.of(types));

    Map<Class<?>, String> names = Meeting.eventNames(types);
    assertEquals(types.length, names.size());
    assertEquals(types.length, new HashSet<>(names.values()).size(), "two event types share a name: " + names);

    Map<Class<?>, String> today = new LinkedHashMap<>();
    today.put(Meeting.Created.class, "Created");
    today.put(Meeting.AudioStored.class, "AudioStored");
    today.put(Meeting.Queued.class, "Queued");
    today.put(Meeting.Dispatched.class, "Dispatched");
    today.put(Meeting.Progress.class, "Progress");
    today.put(Meeting.Completed.class, "Completed");
    today.put(Meeting.Failed.class, "Failed");
    today.put(Meeting.Deleted.class, "Deleted");
    for (Map.Entry<Class<?>, String> e : today.entrySet()) {
      assertEquals(e.getValue(), names.get(e.getKey()), "the history's name of " + e.getKey().getSimpleName());
    }
    assertTrue(names.keySet().containsAll(today.keySet()));
    assertEquals("Deleted", Meeting.eventName(new Meeting.Deleted("key")));
    assertEquals("Queued", Meeting.eventName(new Meeting.Queued(2, "m-2", "retry")));
  }

  @Meeting.EventName("Created")
  record Twin() {}

  record Unnamed() {}

  @Meeting.EventName(" ")
  record Blank() {}

  @Test
  void aTypeWithoutANameOrWithAnothersNameIsRefused() {
    IllegalStateException twin = assertThrows(IllegalStateException.class,
        () -> Meeting.eventNames(new Class<?>[] {Meeting.Created.class, Twin.class}));
    assertTrue(twin.getMessage().contains("both named Created"), twin.getMessage());
    IllegalStateException unnamed = assertThrows(IllegalStateException.class,
        () -> Meeting.eventNames(new Class<?>[] {Meeting.Created.class, Unnamed.class}));
    assertTrue(unnamed.getMessage().contains("Unnamed"), unnamed.getMessage());
    assertThrows(IllegalStateException.class, () -> Meeting.eventNames(new Class<?>[] {Blank.class}));
  }
}
