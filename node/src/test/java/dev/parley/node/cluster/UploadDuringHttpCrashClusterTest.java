package dev.parley.node.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.http.meeting.Meeting;
import dev.parley.http.meeting.UploadIds;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.HashCodeMessageExtractor;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Three http nodes, each hosting some of the Meeting shards, and one that is not the oldest (which
 * hosts the shard coordinator) dies as with kill -9. While the survivors see it unreachable and the
 * resolver has not downed it yet (stable-after 20 s here, about 12 s in production), an upload decides
 * where its meeting lives before it reads the body: unkeyed uploads draw meeting ids whose shards
 * answer and are accepted at once, and a keyed upload (raw or a form) whose meeting's shard was on
 * the dead node is refused with 503 before its client sends the body (Expect: 100-continue). Without
 * the check, an upload to the dead node's shards sends its whole body, then waits out the ask timeout
 * (10 s) and the checks that follow an unanswered Create.
 */
class UploadDuringHttpCrashClusterTest {
  static final String EXTRA = String.join("\n",
      // terminate() without coordinated shutdown: no leave, as with kill -9
      "pekko.coordinated-shutdown.run-by-actor-system-terminate = off",
      "pekko.cluster.split-brain-resolver.stable-after = 20s",
      "parley.http.max-concurrent-uploads-per-user = 16");
  /** Unkeyed uploads at once: about a third of their first ids fall on the dead node's shards. */
  static final int UNKEYED = 12;
  /** Well under the ask timeout (10 s) a Create on the dead node's shard would wait. */
  static final Duration QUICK = Duration.ofSeconds(7);
  /** How long a keyed upload's client waits for an answer (a refusal comes within two probe timeouts). */
  static final Duration ANSWER_WITHIN = Duration.ofSeconds(15);
  static final String BOUNDARY = "parley-form-boundary";
  static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension static final TestCluster cluster = TestCluster.perClass("parley_uploadcrash");

  @Test
  void uploadsAreDecidedBeforeTheirBodyWhileAnHttpNodeIsUnreachable() throws Exception {
    TestCluster.Node a = cluster.startHttp("", EXTRA);
    TestCluster.Node b = cluster.startHttp(a.seed(), EXTRA);
    TestCluster.Node doomed = cluster.startHttp(a.seed(), EXTRA);
    TestCluster.awaitUp(Duration.ofSeconds(30), a, b, doomed);
    Api api = new Api(b.httpPort()).registerAndLogin("crash-upload@example.com", "crash-upload-password-1");
    allocateEveryShard(b);
    String user = subject(api.token());
    List<String> keys = keysHostedOn(doomed, user, 2);

    doomed.node().system().terminate();
    TestCluster.awaitUnreachable(b, doomed, Duration.ofSeconds(15));
    long window = System.nanoTime();

    byte[] wav = Api.toneWav(1.0, 300);
    ExecutorService clients = Executors.newFixedThreadPool(UNKEYED);
    try {
      List<Future<String>> uploads = new ArrayList<>();
      for (int i = 0; i < UNKEYED; i++) {
        uploads.add(clients.submit(() -> {
          long t0 = System.nanoTime();
          Api.Response r = api.send(HttpRequest.newBuilder(URI.create(base(b) + "/meetings?title=while-a-node-is-away"))
              .header("Content-Type", "audio/wav").POST(HttpRequest.BodyPublishers.ofByteArray(wav)));
          Duration took = Duration.ofNanos(System.nanoTime() - t0);
          assertEquals(202, r.status(), "an unkeyed upload while an http node is unreachable, after " + took + ": " + r);
          assertTrue(took.compareTo(QUICK) < 0, "an unkeyed upload took " + took);
          return r.json().get("id").asText();
        }));
      }
      Set<String> ids = new HashSet<>();
      for (Future<String> f : uploads) ids.add(f.get(30, TimeUnit.SECONDS));
      assertEquals(UNKEYED, ids.size());
    } finally {
      clients.shutdownNow();
    }

    byte[] form = multipart(wav);
    for (int i = 0; i < keys.size(); i++) {
      String key = keys.get(i);
      long t0 = System.nanoTime();
      Answer refused = i == 0 ? keyedUpload(b, api.token(), key, "audio/wav", wav)
          : keyedUpload(b, api.token(), key, "multipart/form-data; boundary=" + BOUNDARY, form);
      Duration took = Duration.ofNanos(System.nanoTime() - t0);
      assertEquals(503, refused.status(), refused.toString());
      assertFalse(refused.bodySent(), "the server asked for the body (100 Continue) before it refused the upload");
      assertEquals("unavailable", JSON.readTree(refused.body()).path("error").asText(), refused.body());
      assertTrue(refused.headers().containsKey("retry-after"), refused.headers().toString());
      assertTrue(took.compareTo(QUICK) < 0, "the keyed upload was refused after " + took);
      assertEquals(0, blobChunks(UploadIds.target(user, key).meetingId()), "the refused upload left audio in the blob store");
    }
    // all of the above happened while the dead node was unreachable and still a member
    assertTrue(TestCluster.isUnreachable(b, doomed), "the dead node was downed before the uploads were done ("
        + Duration.ofNanos(System.nanoTime() - window).toMillis() + " ms after it was unreachable)");

    // the survivors leave cleanly only once the resolver has downed the dead node
    TestCluster.awaitRemoved(b, Duration.ofSeconds(40), doomed);
  }

  /** The final answer to an upload, and whether its body was sent (only after 100 Continue). */
  record Answer(int status, Map<String, String> headers, String body, boolean bodySent) {}

  /**
   * A keyed upload of {@code body} with {@code Expect: 100-continue}, as curl sends a large one, over
   * a plain socket (java.net.http of Java 17 waits for ever when the answer to such a request is not
   * 100 Continue): the body goes only after the server asked for it with 100 Continue.
   */
  static Answer keyedUpload(TestCluster.Node node, String token, String key, String contentType, byte[] body)
      throws IOException {
    boolean bodySent = false;
    try (Socket socket = new Socket("127.0.0.1", node.httpPort())) {
      socket.setSoTimeout((int) ANSWER_WITHIN.toMillis());
      OutputStream out = socket.getOutputStream();
      out.write(("POST /meetings?title=keyed HTTP/1.1\r\n"
          + "Host: 127.0.0.1:" + node.httpPort() + "\r\n"
          + "Authorization: Bearer " + token + "\r\n"
          + UploadIds.IDEMPOTENCY_KEY + ": " + key + "\r\n"
          + "Content-Type: " + contentType + "\r\n"
          + "Content-Length: " + body.length + "\r\n"
          + "Expect: 100-continue\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = new BufferedInputStream(socket.getInputStream());
      while (true) {
        int status = Integer.parseInt(line(in).split(" ")[1]);
        Map<String, String> headers = new HashMap<>();
        for (String h = line(in); !h.isEmpty(); h = line(in)) {
          int colon = h.indexOf(':');
          headers.put(h.substring(0, colon).strip().toLowerCase(Locale.ROOT), h.substring(colon + 1).strip());
        }
        if (status == 100) {
          out.write(body);
          out.flush();
          bodySent = true;
          continue;
        }
        byte[] answer = in.readNBytes(Integer.parseInt(headers.getOrDefault("content-length", "0")));
        return new Answer(status, headers, new String(answer, StandardCharsets.UTF_8), bodySent);
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError("no answer to the keyed upload " + key + " within " + ANSWER_WITHIN
          + (bodySent ? " after the server asked for its body" : " and no 100 Continue"), e);
    }
  }

  /** {@code wav} as the {@code file} field of a form. */
  static byte[] multipart(byte[] wav) {
    byte[] head = ("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
        + "Content-Type: audio/wav\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    byte[] tail = ("\r\n--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.US_ASCII);
    byte[] form = Arrays.copyOf(head, head.length + wav.length + tail.length);
    System.arraycopy(wav, 0, form, head.length, wav.length);
    System.arraycopy(tail, 0, form, head.length + wav.length, tail.length);
    return form;
  }

  /** One line of an HTTP head, without its CRLF. */
  private static String line(InputStream in) throws IOException {
    StringBuilder b = new StringBuilder();
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) throw new EOFException("the connection closed mid-line: " + b);
      if (c != '\r') b.append((char) c);
    }
    return b.toString();
  }

  /**
   * Starts a meeting (an empty one: Get persists nothing) through {@code via} in every Meeting shard,
   * as a cluster that has served a while has them: while an http node is unreachable the coordinator
   * cannot allocate a new shard (its remembered shards are written to every node), so only shards
   * allocated before the crash can take new meetings.
   */
  static void allocateEveryShard(TestCluster.Node via) throws Exception {
    ActorSystem<Void> system = via.node().system();
    int count = system.settings().config().getInt("parley.meeting.number-of-shards");
    HashCodeMessageExtractor<Meeting.Command> shards = new HashCodeMessageExtractor<>(count);
    Set<String> seen = new HashSet<>();
    List<CompletableFuture<Meeting.State>> asked = new ArrayList<>();
    while (seen.size() < count) {
      String id = UUID.randomUUID().toString();
      if (seen.add(shards.shardId(id))) {
        asked.add(ClusterSharding.get(system).entityRefFor(Meeting.ENTITY_KEY, id)
            .<Meeting.State>ask(Meeting.Get::new, Duration.ofSeconds(20)).toCompletableFuture());
      }
    }
    for (CompletableFuture<Meeting.State> f : asked) assertFalse(f.get(30, TimeUnit.SECONDS).exists());
  }

  /** {@code n} Idempotency-Keys of {@code userId} whose meetings' shards {@code host} runs. */
  static List<String> keysHostedOn(TestCluster.Node host, String userId, int n) throws Exception {
    ActorSystem<Void> system = host.node().system();
    HashCodeMessageExtractor<Meeting.Command> shards = new HashCodeMessageExtractor<>(
        system.settings().config().getInt("parley.meeting.number-of-shards"));
    ShardRegion.CurrentShardRegionState state = AskPattern.<ClusterShardingQuery, ShardRegion.CurrentShardRegionState>ask(
            ClusterSharding.get(system).shardState(), r -> new GetShardRegionState(Meeting.ENTITY_KEY, r),
            Duration.ofSeconds(5), system.scheduler())
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    Set<String> hosted = new HashSet<>();
    for (ShardRegion.ShardState s : state.getShards()) hosted.add(s.shardId());
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 10_000 && keys.size() < n; i++) {
      String key = "crash-key-" + i;
      if (hosted.contains(shards.shardId(UploadIds.target(userId, key).meetingId()))) keys.add(key);
    }
    if (keys.size() < n) throw new AssertionError("the node on " + host.clusterPort() + " hosts no Meeting shard: " + hosted);
    return keys;
  }

  /** The user id of a token: its JWT subject. */
  static String subject(String token) throws Exception {
    byte[] payload = Base64.getUrlDecoder().decode(token.split("\\.")[1]);
    return JSON.readTree(new String(payload, StandardCharsets.UTF_8)).path("sub").asText();
  }

  static String base(TestCluster.Node node) {
    return "http://127.0.0.1:" + node.httpPort();
  }

  /** Chunks in the blob store under any key of meeting {@code id}. */
  static int blobChunks(String id) throws Exception {
    try (Connection c = TestPostgres.connect();
        PreparedStatement ps = c.prepareStatement(
            "SELECT COUNT(*) FROM " + cluster.pg.schema + ".blob_chunk WHERE blob_key LIKE ?")) {
      ps.setString(1, id + "%");
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }
}
