package dev.parley.http.meeting;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.completeOKWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.extractMethod;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.conditional;
import static org.apache.pekko.http.javadsl.server.Directives.delete;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequestEntity;
import static org.apache.pekko.http.javadsl.server.Directives.handleExceptions;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.mapResponse;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByType;
import static org.apache.pekko.http.javadsl.server.Directives.parameterMultiMap;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEnd;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;
import static org.apache.pekko.http.javadsl.server.Directives.reject;
import static org.apache.pekko.http.javadsl.server.Directives.respondWithDefaultHeader;
import static org.apache.pekko.http.javadsl.server.Directives.withSizeLimit;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.parley.http.auth.AudioUrls;
import dev.parley.http.auth.AuthRoutes;
import dev.parley.http.auth.AuthUser;
import dev.parley.http.auth.TokenGenerations;
import dev.parley.http.meeting.list.Cursor;
import dev.parley.http.web.ApiError;
import dev.parley.http.web.ApiErrors;
import dev.parley.http.web.ApiException;
import dev.parley.http.web.Json;
import dev.parley.protocol.blob.BlobStore;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.DateTime;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpMethod;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaType;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.AcceptRanges;
import org.apache.pekko.http.javadsl.model.headers.Allow;
import org.apache.pekko.http.javadsl.model.headers.ByteRange;
import org.apache.pekko.http.javadsl.model.headers.CacheControl;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.model.headers.CacheDirectives;
import org.apache.pekko.http.javadsl.model.headers.ContentDisposition;
import org.apache.pekko.http.javadsl.model.headers.ContentDispositionTypes;
import org.apache.pekko.http.javadsl.model.headers.ContentRange;
import org.apache.pekko.http.javadsl.model.headers.EntityTag;
import org.apache.pekko.http.javadsl.model.headers.Location;
import org.apache.pekko.http.javadsl.model.headers.Range;
import org.apache.pekko.http.javadsl.model.headers.RangeUnits;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.StreamConverters;
import org.apache.pekko.util.ByteString;

/** The {@code /meetings} routes; every one needs a bearer token, another user's meeting is 404. */
public final class MeetingRoutes {
  private static final int AUDIO_CHUNK = 64 * 1024;

  private final MeetingService service;
  private final AuthRoutes auth;
  private final AudioUrls audioUrls;
  private final Executor blocking;
  private final long maxUpload;

  public MeetingRoutes(MeetingService service, AuthRoutes auth, AudioUrls audioUrls, Executor blocking) {
    this.service = service;
    this.auth = auth;
    this.audioUrls = audioUrls;
    this.blocking = blocking;
    this.maxUpload = service.settings().maxUpload();
  }

  public Route routes() {
    // a browser keeps what it fetched with a token to itself, and asks again (If-None-Match) before using it
    // the errors too (an unknown meeting's 404): turned into answers here, inside the header's reach
    return pathPrefix("meetings", () -> respondWithDefaultHeader(PRIVATE_NO_CACHE, () -> handleExceptions(ERRORS, () -> concat(
        pathPrefix(PathMatchers.segment(), id -> path("audio", () -> get(() -> signedAudioUrl(id)))),
        auth.authenticated(user -> concat(
            pathEndOrSingleSlash(() -> concat(get(() -> list(user)), post(() -> upload(user)))),
            // other methods on these two names are 405s, not lookups of meetings called "upload" and "list"
            pathPrefix("upload", () -> pathEndOrSingleSlash(() -> concat(post(() -> upload(user)), onlyAllowed(HttpMethods.POST)))),
            pathPrefix("list", () -> pathEndOrSingleSlash(() -> concat(get(() -> list(user)), onlyAllowed(HttpMethods.GET)))),
            pathPrefix(PathMatchers.segment(), id -> meeting(user, id))))))));
  }

  /** One meeting's routes for its owner. */
  private Route meeting(AuthUser user, String id) {
    return concat(
        pathEnd(() -> concat(
            get(() -> Json.answering(() -> meetingJson(user, id))),
            delete(() -> onSuccess(service.delete(user, id), d -> complete(StatusCodes.NO_CONTENT))))),
        path("rttm", () -> get(() -> onSuccess(service.get(user, id), s -> rttm(id, s)))),
        path("history", () -> get(() -> Json.answering(() -> onSuccess(service.history(user, id),
            h -> weaklyTagged(HttpResponse.create(), ContentTypes.APPLICATION_JSON, json(h)))))),
        path("audio-url", () -> get(() -> completeOKWithFuture(service.get(user, id).thenCombine(
            auth.generation(user.id()), (s, generation) -> audioUrls.sign(s.meetingId(), generation)),
            Json.marshaller()))),
        path("audio", () -> get(() -> audio(service.get(user, id)))));
  }

  /**
   * A signed audio URL, as an {@code <audio src>} fetches it: the signature stands for the bearer
   * token. A request without {@code sig}, or with an Authorization header (the token's to answer,
   * whatever its query says), passes on to the authenticated routes.
   */
  private Route signedAudioUrl(String id) {
    return parameterOptional("sig", sig -> optionalHeaderValueByName("Authorization", bearer ->
        sig.isEmpty() || bearer.isPresent() ? reject()
            : parameterOptional("exp", exp -> parameterOptional("gen", gen ->
                audioUrls.problem(id, exp.orElse(null), gen.orElse(null), sig.get())
                    .map(MeetingRoutes::invalidSignature)
                    .orElseGet(() -> signedAudio(id, Long.parseLong(gen.get())))))));
  }

  private static final ExceptionHandler ERRORS = ApiErrors.exceptionHandler();
  private static final CacheControl PRIVATE_NO_CACHE = CacheControl.create(CacheDirectives.PRIVATE(), CacheDirectives.NO_CACHE);

  /** The meeting as JSON, with a weak ETag of its bytes: an unchanged meeting answers 304 to If-None-Match. */
  private Route meetingJson(AuthUser user, String id) {
    return onSuccess(service.get(user, id),
        s -> weaklyTagged(HttpResponse.create(), ContentTypes.APPLICATION_JSON, json(MeetingViews.of(s))));
  }

  /**
   * {@code response} with {@code body}, validated by a weak ETag of the body's bytes: a client that
   * already has them gets 304 to its If-None-Match (the meeting, its RTTM and its history).
   */
  private static Route weaklyTagged(HttpResponse response, ContentType type, byte[] body) {
    EntityTag version = EntityTag.create(Base64.getUrlEncoder().withoutPadding().encodeToString(
        Arrays.copyOf(sha256(body), 16)), true);
    return conditionalJson(version, null, () -> complete(response.withEntity(type, body)));
  }

  private static byte[] sha256(byte[] b) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(b);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Pekko's {@code conditional} (304 for If-None-Match and If-Modified-Since, the whole file for an
   * If-Range that no longer matches), with its 412 for If-Match or If-Unmodified-Since in the API's error shape.
   */
  private static Route conditionalJson(EntityTag tag, DateTime lastModified, Supplier<Route> inner) {
    Route checked = lastModified == null ? conditional(tag, inner) : conditional(tag, lastModified, inner);
    return mapResponse(r -> r.status().equals(StatusCodes.PRECONDITION_FAILED)
        ? ApiError.response(StatusCodes.PRECONDITION_FAILED, "precondition_failed",
            "the meeting, its audio, RTTM or history no longer matches If-Match or If-Unmodified-Since")
        : r, () -> checked);
  }

  /**
   * 405 naming the one method a fixed path takes, for any other method; the allowed one passes with no rejection of its own, so that the
   * route before it answers why it refused (a malformed upload is a 400, not a 405).
   */
  private static Route onlyAllowed(HttpMethod method) {
    return extractMethod(m -> m.equals(method) ? reject()
        : complete(ApiError.response(StatusCodes.METHOD_NOT_ALLOWED, ApiError.code(StatusCodes.METHOD_NOT_ALLOWED),
            "this path takes " + method.name() + " only").addHeader(Allow.create(method))));
  }

  // ---------------------------------------------------------------- list

  private Route list(AuthUser user) {
    var s = service.settings();
    return parameterMultiMap(params -> {
      for (String name : List.of("limit", "cursor")) {
        if (params.getOrDefault(name, List.of()).size() > 1) { // a proxy could pass either
          return complete(ApiError.response(StatusCodes.BAD_REQUEST, "bad_request", "'" + name + "' is given twice; give it once"));
        }
      }
      Optional<String> limitParam = params.getOrDefault("limit", List.of()).stream().findFirst();
      Optional<String> cursorParam = params.getOrDefault("cursor", List.of()).stream().findFirst();
      int limit = s.listDefaultLimit();
      if (limitParam.isPresent()) {
        try {
          limit = MeetingService.wholeNumber(limitParam.get());
        } catch (NumberFormatException e) {
          limit = -1;
        }
        if (limit < 1 || limit > s.listMaxLimit()) {
          return complete(ApiError.response(StatusCodes.BAD_REQUEST, "bad_request",
              "limit must be a whole number between 1 and " + s.listMaxLimit()));
        }
      }
      Cursor cursor = null;
      if (cursorParam.isPresent() && !cursorParam.get().isBlank()) {
        try {
          cursor = Cursor.decode(cursorParam.get().strip());
        } catch (IllegalArgumentException e) {
          return complete(ApiError.response(StatusCodes.BAD_REQUEST, "bad_request", "invalid cursor"));
        }
      }
      return completeWithFuture(service.list(user, limit, cursor).thenApply(json ->
          HttpResponse.create().withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, json))));
    });
  }

  // ---------------------------------------------------------------- upload

  private Route upload(AuthUser user) {
    return extractRequest(request -> {
      List<String> keys = new ArrayList<>();
      for (HttpHeader h : request.getHeaders()) if (h.is(UploadIds.IDEMPOTENCY_KEY.toLowerCase(Locale.ROOT))) keys.add(h.value());
      if (keys.size() > 1) { // a proxy could pass either: which meeting the client meant is unknowable
        return complete(ApiError.response(StatusCodes.BAD_REQUEST, "invalid_idempotency_key",
            "send one " + UploadIds.IDEMPOTENCY_KEY + " header, not " + keys.size()));
      }
      for (HttpHeader h : request.getHeaders()) {
        // Pekko keeps a Content-Type it cannot parse as a plain header and takes the body for
        // application/octet-stream: a form with an empty boundary would be stored as audio and fail
        // to decode (a harmless slip such as "audio/x-wav;" is still taken as audio, as before)
        if (h.is("content-type") && h.value().strip().toLowerCase(Locale.ROOT).startsWith("multipart/")) {
          return complete(ApiError.response(StatusCodes.BAD_REQUEST, "bad_request",
              "the Content-Type header could not be read: " + h.value()));
        }
        // a compressed body would be stored compressed and fail to decode; audio is compressed already
        if (h.is("content-encoding") && !identityOnly(h.value())) {
          return complete(ApiError.response(StatusCodes.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
              "uploads take no Content-Encoding (got " + h.value() + "): send the audio file as it is"));
        }
      }
      return upload(user, keys.isEmpty() ? null : keys.get(0));
    });
  }

  /** {@code idempotencyKey}: the request's Idempotency-Key, null for none. */
  private Route upload(AuthUser user, String idempotencyKey) {
    // no request timeout (application.conf: off), so an upload of any length is read to its end
    return extractRequestEntity(raw -> {
      OptionalLong declared = raw.getContentLengthOption();
      if (declared.isPresent() && declared.getAsLong() > maxUpload) {
        // refuse before reading a byte of the body
        return complete(ApiError.response(StatusCodes.PAYLOAD_TOO_LARGE, "payload_too_large",
            "the upload is " + declared.getAsLong() + " bytes; the limit is " + maxUpload));
      }
      if (declared.isPresent() && declared.getAsLong() == 0) {
        return complete(ApiError.response(StatusCodes.BAD_REQUEST, "empty_file", "the uploaded file is empty"));
      }
      MediaType media = raw.getContentType().mediaType();
      return withSizeLimit(maxUpload, () -> {
        if (media.isMultipart()) {
          if (!"form-data".equals(media.subType())) {
            return complete(ApiError.response(StatusCodes.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                "use multipart/form-data with a 'file' field, or send the audio itself as the body"));
          }
          return parameterMultiMap(params -> entity(Unmarshaller.entityToMultipartFormData(), form ->
              onSuccess(service.uploadMultipart(user, form, MeetingService.fields(params), idempotencyKey), this::accepted)));
        }
        if (!isAudioBody(media)) {
          return complete(ApiError.response(StatusCodes.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
              "send multipart/form-data with a 'file' field, or an audio/* or application/octet-stream body; got "
                  + media));
        }
        return parameterMultiMap(params -> optionalHeaderValueByType(ContentDisposition.class, disposition ->
            extractRequestEntity(limited -> onSuccess(service.uploadRaw(user, limited.getDataBytes(),
                limited.getContentType().toString(), disposition.map(d -> d.getParams().get("filename")).orElse(null),
                MeetingService.fields(params), idempotencyKey), this::accepted))));
      });
    });
  }

  /** A Content-Encoding that changes nothing: empty, or identity (once or more). */
  private static boolean identityOnly(String codings) {
    for (String c : codings.split(",")) {
      if (!c.isBlank() && !c.strip().equalsIgnoreCase("identity")) return false;
    }
    return true;
  }

  private static boolean isAudioBody(MediaType m) {
    String main = m.mainType().toLowerCase(Locale.ROOT);
    return main.equals("audio") || main.equals("video")
        || (main.equals("application") && m.subType().equalsIgnoreCase("octet-stream"));
  }

  /** 202 with the meeting's id and status, for a new upload and a repeated one alike; the repeat says so. */
  private Route accepted(MeetingService.Uploaded u) {
    Meeting.State s = u.state();
    HttpResponse response = HttpResponse.create()
        .withStatus(StatusCodes.ACCEPTED)
        .addHeader(Location.create("/meetings/" + s.meetingId()))
        .withEntity(ContentTypes.APPLICATION_JSON, json(new MeetingViews.Accepted(s.meetingId(), s.apiStatus())));
    return complete(u.replayed() ? response.addHeader(REPLAYED) : response);
  }

  private static final HttpHeader REPLAYED = RawHeader.create(UploadIds.REPLAYED, "true");

  private static byte[] json(Object o) {
    try {
      return Json.MAPPER.writeValueAsBytes(o);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  // ---------------------------------------------------------------- rttm and audio

  /** The RTTM of a done meeting, with a weak ETag like the meeting's; 409 before it is done, and once it failed. */
  private static Route rttm(String id, Meeting.State s) {
    if (s.status() == Meeting.Status.FAILED) {
      return complete(ApiError.response(StatusCodes.CONFLICT, "meeting_failed", "meeting " + id
          + " failed and has no RTTM: " + (s.failure() != null ? s.failure().reason() : "no reason recorded")));
    }
    if (s.status() != Meeting.Status.DONE || s.result() == null) {
      return complete(ApiError.response(StatusCodes.CONFLICT, "not_ready",
          "meeting " + id + " is " + s.apiStatus() + "; RTTM exists once it is done"));
    }
    return weaklyTagged(HttpResponse.create()
            .addHeader(ContentDisposition.create(ContentDispositionTypes.ATTACHMENT, Map.of("filename", id + ".rttm"))),
        ContentTypes.TEXT_PLAIN_UTF8, s.result().toRttm(id).getBytes(StandardCharsets.UTF_8));
  }

  /** The audio of a validly signed URL, unless its owner has logged out or changed password since it was signed. */
  private Route signedAudio(String id, long generation) {
    return onSuccess(service.getSigned(id).thenCompose(s -> auth.generation(s.owner()).thenApply(current ->
        TokenGenerations.accepts(generation, current) ? s : null)), s -> s == null
        ? invalidSignature("the audio URL was revoked (its owner logged out or changed their password); ask for a new one")
        : audio(CompletableFuture.completedFuture(s)));
  }

  private static Route invalidSignature(String problem) {
    return complete(ApiError.response(StatusCodes.UNAUTHORIZED, "invalid_signature", problem).addHeader(AuthRoutes.CHALLENGE));
  }

  /**
   * The audio, validated by its checksum and upload time: If-None-Match and If-Modified-Since answer
   * 304, and a Range whose If-Range no longer matches gets the whole file ({@code conditional}).
   */
  private Route audio(CompletionStage<Meeting.State> meeting) {
    return onSuccess(meeting, s -> {
      Route serve = optionalHeaderValueByType(Range.class, range -> completeWithFuture(audio(s, range)));
      if (s.audio() == null || s.audio().sha256() == null) return serve;
      return conditionalJson(EntityTag.create(s.audio().sha256(), false),
          DateTime.create(s.createdAt().getEpochSecond() * 1000), () -> serve);
    });
  }

  private CompletionStage<HttpResponse> audio(Meeting.State s, Optional<Range> range) {
    BlobStore blobs = service.blobs();
    String id = s.meetingId();
    return CompletableFuture.supplyAsync(() -> {
      Meeting.Audio a = s.audio();
      long length;
      try {
        length = a == null ? -1 : blobs.size(a.key());
      } catch (IOException e) {
        throw new CompletionException(e);
      }
      if (length < 0) throw new ApiException(StatusCodes.NOT_FOUND, "not_found", "the audio of meeting " + id + " is gone");
      ContentType ct = contentType(a.contentType());
      AcceptRanges acceptRanges = AcceptRanges.create(RangeUnits.BYTES);
      ByteRange single = range.map(MeetingRoutes::singleByteRange).orElse(null);
      if (single == null) {
        return HttpResponse.create().addHeader(acceptRanges).addHeader(disposition(a)).addHeaders(AUDIO_HEADERS)
            .withEntity(HttpEntities.create(ct, length, source(blobs, a.key(), 0, length)));
      }
      long first;
      long last;
      if (single.isSlice()) {
        first = single.getSliceFirst().getAsLong();
        last = Math.min(single.getSliceLast().getAsLong(), length - 1);
      } else if (single.isFromOffset()) {
        first = single.getOffset().getAsLong();
        last = length - 1;
      } else {
        long n = Math.min(single.getSuffixLength().getAsLong(), length);
        first = length - n;
        last = length - 1;
      }
      if (first >= length || last < first) {
        return ApiError.response(StatusCodes.RANGE_NOT_SATISFIABLE, "range_not_satisfiable",
                "the audio has " + length + " bytes")
            .addHeader(ContentRange.create(RangeUnits.BYTES,
                org.apache.pekko.http.javadsl.model.ContentRange.createUnsatisfiable(length)));
      }
      long count = last - first + 1;
      return HttpResponse.create()
          .withStatus(StatusCodes.PARTIAL_CONTENT)
          .addHeader(acceptRanges)
          .addHeader(disposition(a))
          .addHeaders(AUDIO_HEADERS)
          .addHeader(ContentRange.create(RangeUnits.BYTES,
              org.apache.pekko.http.javadsl.model.ContentRange.create(first, last, length)))
          .withEntity(HttpEntities.create(ct, count, source(blobs, a.key(), first, count)));
    }, blocking);
  }

  /**
   * Shown in the page, saved under its original name: control characters become '_', bidirectional
   * controls go ({@link Meeting#BIDI_CONTROLS}) and Pekko adds an RFC 5987 {@code filename*} for a name
   * that is not ASCII.
   */
  static ContentDisposition disposition(Meeting.Audio a) {
    String name = MeetingService.baseName(a.fileName());
    return ContentDisposition.create(ContentDispositionTypes.INLINE,
        name == null ? Map.of() : Map.of("filename",
            name.replaceAll(Meeting.BIDI_CONTROLS, "").replaceAll("[\\p{Cntrl}\"\\\\]", "_")));
  }

  /** The one byte range of a {@code Range: bytes=...} header; null for none or several (then 200, full). */
  private static ByteRange singleByteRange(Range r) {
    if (!r.rangeUnit().equals(RangeUnits.BYTES)) return null;
    Iterator<ByteRange> it = r.getRanges().iterator();
    if (!it.hasNext()) return null;
    ByteRange b = it.next();
    return it.hasNext() ? null : b;
  }

  /**
   * The recorded type when it is a media type, else application/octet-stream: an upload is served
   * back as sound or as bytes, never as a page or an image a browser would run (HTML, SVG).
   */
  static ContentType contentType(String s) {
    if (s == null || !AudioProbe.isMedia(s)) return ContentTypes.APPLICATION_OCTET_STREAM;
    try {
      return ContentTypes.parse(s);
    } catch (RuntimeException e) {
      return ContentTypes.APPLICATION_OCTET_STREAM;
    }
  }

  /** Whatever the bytes are, a browser shows them in a sandbox with nothing to run or load. */
  private static final List<HttpHeader> AUDIO_HEADERS = List.of(
      RawHeader.create("Content-Security-Policy", "sandbox; default-src 'none'"));

  /** {@code count} bytes of a blob from {@code offset}, read lazily (skip seeks in both stores). */
  private static Source<ByteString, ?> source(
      BlobStore blobs, String key, long offset, long count) {
    return StreamConverters.fromInputStream(() -> {
      InputStream in = blobs.open(key);
      try {
        in.skipNBytes(offset);
      } catch (IOException | RuntimeException e) {
        in.close();
        throw e;
      }
      return new Bounded(in, count);
    }, AUDIO_CHUNK);
  }

  /** At most {@code remaining} bytes of {@code in}. */
  private static final class Bounded extends FilterInputStream {
    private long remaining;

    Bounded(InputStream in, long remaining) {
      super(in);
      this.remaining = remaining;
    }

    @Override
    public int read() throws IOException {
      if (remaining <= 0) return -1;
      int b = super.read();
      if (b >= 0) remaining--;
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (remaining <= 0) return -1;
      int n = super.read(b, off, (int) Math.min(len, remaining));
      if (n > 0) remaining -= n;
      return n;
    }
  }
}
