package dev.parley.http.cluster;

import dev.parley.http.meeting.list.MeetingListRepository;
import dev.parley.http.web.Blocking;
import dev.parley.protocol.worker.InferenceProtocol;
import dev.parley.protocol.worker.InferenceProtocol.QueueLength;
import dev.parley.protocol.worker.InferenceProtocol.QueueQuery;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * On http nodes, at {@code /system/}{@value InferenceProtocol#QUEUE_REPORTER}: tells a gpu node that is
 * about to leave for want of jobs how many meetings wait for a gpu, the count {@code GET /autoscale}
 * gives. No answer when the database does not give one; the gpu node then leaves.
 */
public final class QueueReporter {
  private static final Logger log = LoggerFactory.getLogger(QueueReporter.class);

  private QueueReporter() {}

  public static Behavior<QueueQuery> create(MeetingListRepository list, Executor blocking) {
    return Behaviors.receiveMessage(q -> {
      Blocking.supply(() -> list.activeCounts().queued(), blocking).whenComplete((queued, error) -> {
        if (error == null) q.replyTo().tell(new QueueLength(queued));
        else log.info("could not count the queued meetings for a gpu node: {}", error.toString());
      });
      return Behaviors.same();
    });
  }
}
