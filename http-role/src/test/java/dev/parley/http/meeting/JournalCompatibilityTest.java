package dev.parley.http.meeting;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import dev.parley.protocol.DiarizationOptions;
import dev.parley.protocol.DiarizationResult;
import dev.parley.protocol.Segment;
import dev.parley.protocol.SpeakerSummary;
import dev.parley.protocol.Timing;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import scala.util.Try;

/**
 * Every meeting lives in the journal as the JSON of these events: a renamed, removed or retyped
 * field would leave the meetings of an upgraded deployment unreadable, or quietly without a part.
 * The files under {@code journal/} are events as Parley wrote them, as Pekko's Jackson serializer
 * stores them, each named {@code <manifest>@<date it was written>.json}. Every one of them must still
 * read, and every field it holds must come back with the same value when the event is written again.
 * A new event type gets its file from {@link #samples()} (the first test says which is missing); a
 * changed one may get a newer file beside the old. A file is never deleted or edited: a change that
 * cannot read it (a renamed class or field) needs a Jackson migration (DESIGN.md), not a new file.
 */
class JournalCompatibilityTest {
  static ActorTestKit kit;
  static Serialization serialization;
  static final ObjectMapper JSON = new ObjectMapper();

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create("journal", ConfigFactory.parseString("pekko.actor.provider = local")
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application").withOnlyPath("pekko.actor.serialization-bindings"))
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application").withOnlyPath("pekko.serialization")));
    serialization = SerializationExtension.get(kit.system().classicSystem());
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  /** One event of each type, as today's code makes them (the source of the files). */
  static List<Meeting.Event> samples() {
    DiarizationResult result = new DiarizationResult(
        List.of(new Segment(0.0, 2.5, "SPEAKER_00"), new Segment(2.5, 4.0, "SPEAKER_01")),
        List.of(new SpeakerSummary("SPEAKER_00", 2.5, new float[] {0.25f, -0.5f}),
            new SpeakerSummary("SPEAKER_01", 1.5, new float[] {-0.75f, 0.125f})),
        new LinkedHashMap<>(Map.of("pipeline", "parley-diarization", "pipeline.version", "7")),
        new Timing(4.0, 0.5, 0.125, "cpu", new LinkedHashMap<>(Map.of("decode", 0.1, "vad", 0.2))),
        List.of("the file ends early: 1.0 s of 5.0 s decoded"));
    return List.of(
        new Meeting.Created("m-1", "u-1", "Weekly sync", new DiarizationOptions(null, 2, 4),
            Instant.parse("2026-12-01T13:00:00.123Z")),
        new Meeting.AudioStored("m-1", 12345, "ab12", "audio/wav", "sync.wav", 4.0),
        new Meeting.Queued(2, "m-1-2", "attempt 1 failed on 10.0.0.5:25520: could not read the audio",
            Instant.parse("2026-12-02T01:40:05.250Z")),
        new Meeting.Dispatched(1, "m-1-1", "10.0.0.5:25520"),
        new Meeting.Progress(1, "m-1-1", "embedding", 0.5, "10.0.0.5:25520"),
        new Meeting.Completed(1, "m-1-1", "10.0.0.5:25520", result),
        new Meeting.Failed(1, "m-1-1", "10.0.0.5:25520", "not an audio file", false),
        new Meeting.Deleted("m-1"));
  }

  static String manifest(Object event) {
    Serializer s = serialization.findSerializerFor(event);
    return Serializers.manifestFor(s, event);
  }

  /** The journal/ files on the test class path, by name. */
  static Map<String, Path> files() throws IOException, URISyntaxException {
    Path dir = Path.of(JournalCompatibilityTest.class.getClassLoader().getResource("journal").toURI());
    try (Stream<Path> list = Files.list(dir)) {
      return list.collect(Collectors.toMap(p -> p.getFileName().toString(), p -> p, (a, b) -> a, TreeMap::new));
    }
  }

  @Test
  void everyEventTypeHasAFileOfHowItWasWritten() throws Exception {
    Set<String> types = Arrays.stream(Meeting.class.getDeclaredClasses())
        .filter(c -> Meeting.Event.class.isAssignableFrom(c) && c.isRecord())
        .map(Class::getName).collect(Collectors.toCollection(TreeSet::new));
    Set<String> sampled = samples().stream().map(e -> e.getClass().getName()).collect(Collectors.toCollection(TreeSet::new));
    assertEquals(types, sampled, "samples() must hold one event of each type");
    Set<String> names = files().keySet();
    for (Meeting.Event e : samples()) {
      String prefix = manifest(e) + "@";
      String now = new String(serialization.serialize(e).get(), StandardCharsets.UTF_8);
      assertTrue(names.stream().anyMatch(n -> n.startsWith(prefix)), "no journal/" + prefix + LocalDate.now(ZoneOffset.UTC)
          + ".json under http-role/src/test/resources; today this event is written as:\n" + now);
    }
  }

  @Test
  void everyEventJournaledSoFarStillReadsWithAllItsFields() throws Exception {
    int serializerId = serialization.findSerializerFor(samples().get(0)).identifier();
    Map<String, Path> files = files();
    assertTrue(files.size() >= samples().size(), "journal/ lost files: " + files.keySet());
    for (Map.Entry<String, Path> f : files.entrySet()) {
      String name = f.getKey();
      assertTrue(name.matches("[\\w.$]+@\\d{4}-\\d{2}-\\d{2}\\.json"), "journal/" + name + ": not <manifest>@<date>.json");
      String manifest = name.substring(0, name.indexOf('@'));
      byte[] stored = Files.readAllBytes(f.getValue());
      Try<Object> read = serialization.deserialize(stored, serializerId, manifest);
      assertTrue(read.isSuccess(), "journal/" + name + " no longer reads: " + (read.isFailure() ? read.failed().get() : ""));
      assertTrue(read.get() instanceof Meeting.Event, name);
      JsonNode before = JSON.readTree(stored);
      JsonNode after = JSON.readTree(serialization.serialize(read.get()).get());
      assertContains(before, after, name);
    }
  }

  /** Results journaled before 2026-12-01 have no warnings and no stage times; their meetings must still show. */
  @Test
  void aResultJournaledBeforeWarningsAndStageTimesReads() {
    String old = "{\"attempt\":1,\"attemptId\":\"m-1-1\",\"node\":\"10.0.0.5:25520\",\"result\":{\"segments\":"
        + "[{\"start\":0.0,\"end\":2.5,\"speaker\":\"SPEAKER_00\"}],\"speakers\":[{\"label\":\"SPEAKER_00\","
        + "\"talkTime\":2.5,\"centroid\":[0.25,-0.5]}],\"models\":{\"pipeline\":\"parley-diarization\"},\"timing\":"
        + "{\"audioSeconds\":4.0,\"processingSeconds\":0.5,\"realTimeFactor\":0.125,\"device\":\"cpu\"}}}";
    Meeting.Completed sample = (Meeting.Completed) samples().get(5);
    Meeting.Completed read = (Meeting.Completed) serialization.deserialize(old.getBytes(StandardCharsets.UTF_8),
        serialization.findSerializerFor(sample).identifier(), manifest(sample)).get();
    assertEquals(List.of(), read.result().warnings());
    assertEquals(Map.of(), read.result().timing().stageSeconds());
    assertEquals("SPEAKER_00", read.result().segments().get(0).speaker());
  }

  /** A meeting journaled under a looser rule for the speaker counts than today's still replays. */
  @Test
  void optionsTodaysRequestsWouldRefuseStillRead() {
    Meeting.Created sample = (Meeting.Created) samples().get(0);
    String loose = "{\"meetingId\":\"m-1\",\"owner\":\"u-1\",\"title\":\"t\",\"options\":{\"numSpeakers\":0,"
        + "\"minSpeakers\":5,\"maxSpeakers\":2},\"createdAt\":\"2026-12-01T13:00:00.123Z\"}";
    Meeting.Created read = (Meeting.Created) serialization.deserialize(loose.getBytes(StandardCharsets.UTF_8),
        serialization.findSerializerFor(sample).identifier(), manifest(sample)).get();
    assertEquals(0, read.options().numSpeakers());
    assertEquals("numSpeakers must be >= 1", read.options().problem());
  }

  /** Results over 32 KiB were journaled gzipped until 2026-12-01 (Pekko's default); they still read, and are written plain now. */
  @Test
  void aGzippedEventJournaledBeforeReadsAndEventsAreWrittenPlain() throws Exception {
    Meeting.Completed sample = (Meeting.Completed) samples().get(5);
    List<Segment> many = new ArrayList<>();
    for (int i = 0; i < 1000; i++) many.add(new Segment(i, i + 0.5, "SPEAKER_0" + (i % 3)));
    DiarizationResult r = sample.result();
    Meeting.Completed big = new Meeting.Completed(1, "m-1-1", "n", new DiarizationResult(many, r.speakers(), r.models(), r.timing(), r.warnings()));
    byte[] plain = serialization.serialize(big).get();
    assertTrue(plain.length > 32 * 1024 && plain[0] == '{', "written as plain JSON: " + plain.length + " bytes");
    ByteArrayOutputStream gz = new ByteArrayOutputStream();
    try (var out = new GZIPOutputStream(gz)) {
      out.write(plain);
    }
    Object read = serialization.deserialize(gz.toByteArray(), serialization.findSerializerFor(big).identifier(), manifest(big)).get();
    assertEquals(1000, ((Meeting.Completed) read).result().segments().size());
  }

  /** Every field of {@code old}, at any depth, is in {@code now} with the same value. */
  static void assertContains(JsonNode old, JsonNode now, String where) {
    if (old.isObject()) {
      for (Iterator<Map.Entry<String, JsonNode>> it = old.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> f = it.next();
        assertTrue(now.has(f.getKey()), where + ": field '" + f.getKey() + "' is no longer read");
        assertContains(f.getValue(), now.get(f.getKey()), where + "." + f.getKey());
      }
    } else if (old.isArray()) {
      assertEquals(old.size(), now.size(), where);
      for (int i = 0; i < old.size(); i++) assertContains(old.get(i), now.get(i), where + "[" + i + "]");
    } else {
      assertEquals(old, now, where);
    }
  }
}
