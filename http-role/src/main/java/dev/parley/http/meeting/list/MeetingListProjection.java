package dev.parley.http.meeting.list;

import com.typesafe.config.Config;
import dev.parley.http.HttpSettings;
import dev.parley.http.meeting.Meeting;
import dev.parley.http.web.Blocking;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.event.Logging;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.RestartSettings;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.RestartSource;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps {@code meeting_list} up to date from the journal: {@code eventsByTag("meeting")} of the JDBC
 * read journal, in batches, each applied with its offset in one transaction. Runs as a cluster
 * singleton on role http; restarts with backoff after a failure and resumes from the stored offset
 * (events are applied idempotently, so a replay is harmless), so the list can always be rebuilt
 * from all events: clearing the table and the offset (as {@link MeetingListRepository#reset} does,
 * which only a test calls today; no endpoint or command exposes it) makes the next run replay the
 * whole journal.
 */
public final class MeetingListProjection {
  private static final Logger log = LoggerFactory.getLogger(MeetingListProjection.class);
  private MeetingListProjection() {}

  public static final String NAME = "meeting-list-projection";

  public interface Command {}

  /** The singleton's stop message. */
  public enum Stop implements Command { INSTANCE }

  /** {@code parley.read-side}. */
  public record Settings(int batchSize, Duration batchWindow, Duration minBackoff, Duration maxBackoff) {
    public static Settings fromConfig(Config parley) {
      Config c = parley.getConfig("read-side");
      return new Settings(c.getInt("batch-size"), c.getDuration("batch-window"), c.getDuration("min-backoff"),
          c.getDuration("max-backoff"));
    }
  }

  public static Behavior<Command> create(MeetingListRepository repo, Settings settings) {
    return Behaviors.setup(ctx -> {
      Executor blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(HttpSettings.BLOCKING_DISPATCHER));
      JdbcReadJournal journal = PersistenceQuery.get(ctx.getSystem())
          .getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
      // Pekko's own restart log is a stack trace at WARN on every attempt (one every few seconds while
      // the database is away): it goes to DEBUG, and each failure is one line below. The backoff grows
      // until a minute passes without a failure; by default it fell back to min-backoff whenever a
      // failing attempt itself took longer than that (a connection timeout does)
      RestartSettings restart = RestartSettings.create(settings.minBackoff(), settings.maxBackoff(), 0.2)
          .withMaxRestarts(Integer.MAX_VALUE, Duration.ofMinutes(1))
          .withLogSettings(RestartSettings.createLogSettings(Logging.DebugLevel()));
      Source<Done, NotUsed> run = RestartSource.onFailuresWithBackoff(restart, () ->
          Source.completionStageSource(
                  Blocking.supply(() -> repo.readOffset(MeetingListRepository.PROJECTION), blocking)
                      .thenApply(offset -> {
                        log.info("meeting-list projection starts after journal offset {}", offset);
                        return journal.eventsByTag(Meeting.TAG, Offset.sequence(offset));
                      }))
              .groupedWithin(settings.batchSize(), settings.batchWindow())
              .mapAsync(1, batch -> CompletableFuture.supplyAsync(() -> {
                Blocking.get(() -> {
                  repo.apply(MeetingListRepository.PROJECTION, (List<EventEnvelope>) batch);
                  return null;
                });
                return Done.getInstance();
              }, blocking))
              .watchTermination((notUsed, done) -> {
                done.whenComplete((d, err) -> {
                  if (err != null) {
                    log.warn("meeting-list projection failed ({}); restarting it with backoff (at most {})",
                        err.toString(), settings.maxBackoff());
                  }
                });
                return notUsed;
              }));
      UniqueKillSwitch kill = run.viaMat(KillSwitches.single(), Keep.right())
          .to(Sink.ignore())
          .run(Materializer.matFromSystem(ctx.getSystem()));
      return Behaviors.receive(Command.class)
          .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
          .onSignal(PostStop.class, s -> {
            kill.shutdown();
            return Behaviors.same();
          })
          .build();
    });
  }

}
