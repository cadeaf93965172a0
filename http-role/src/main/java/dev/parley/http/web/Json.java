package dev.parley.http.web;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.type.LogicalType;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import com.fasterxml.jackson.module.paramnames.ParameterNamesModule;
import dev.parley.protocol.SpeakerSummary;
import java.io.IOException;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import org.apache.pekko.http.javadsl.marshallers.jackson.Jackson;
import org.apache.pekko.http.javadsl.marshalling.Marshaller;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.MediaRange;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.RequestEntity;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.Accept;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

/**
 * The API's JSON: Jackson with Java time as ISO-8601 strings; unknown request fields are ignored,
 * text after the object and keys given twice are refused.
 */
public final class Json {
  private Json() {}

  public static final ObjectMapper MAPPER = mapper();

  private static ObjectMapper mapper() {
    ObjectMapper m = new ObjectMapper()
        .registerModule(new Jdk8Module())
        .registerModule(new JavaTimeModule())
        .registerModule(new ParameterNamesModule())
        .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
        .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        // {"password":"a"}{"password":"b"} or a key given twice is a malformed request, not a guess
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
        // a speaker's centroid embedding is a voiceprint: kept in the journal, never served (the history shows events)
        .addMixIn(SpeakerSummary.class, NoVoiceprint.class);
    // a number or true where a string belongs is a mistake too ({"password":12345678})
    m.coercionConfigFor(LogicalType.Textual)
        .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail);
    return m;
  }

  @JsonIgnoreProperties("centroid")
  private abstract static class NoVoiceprint {}

  private static final Marshaller<Object, RequestEntity> MARSHALLER = Jackson.marshaller(MAPPER);

  @SuppressWarnings("unchecked")
  public static <T> Marshaller<T, RequestEntity> marshaller() {
    return (Marshaller<T, RequestEntity>) (Marshaller<?, RequestEntity>) MARSHALLER;
  }

  /**
   * For routes that change something and answer JSON: a request whose {@code Accept} header rules
   * JSON out gets 406 before {@code inner} runs, not after its work is done (when marshalling the
   * answer would fail).
   */
  public static Route answering(Supplier<Route> inner) {
    return Directives.extractRequest(req -> {
      boolean refused = req.getHeader(Accept.class).map(a -> !acceptsJson(a)).orElse(false);
      return refused
          ? Directives.complete(ApiError.response(StatusCodes.NOT_ACCEPTABLE, "not_acceptable",
              "this route answers application/json, which the Accept header rules out"))
          : inner.get();
    });
  }

  /**
   * Whether JSON is acceptable: the most specific media range that matches it ({@code
   * application/json}, then {@code application/*}, then {@code * /*}) has a q-value above 0 (RFC
   * 9110, 12.5.1: {@code application/json;q=0} rules JSON out even beside {@code * /*}).
   */
  static boolean acceptsJson(Accept accept) {
    return StreamSupport.stream(accept.getMediaRanges().spliterator(), false)
        .filter((MediaRange r) -> r.matches(MediaTypes.APPLICATION_JSON))
        .max(java.util.Comparator.comparingInt(Json::specificity))
        .map(r -> r.qValue() > 0)
        .orElse(false);
  }

  /** 0 for {@code * /*}, 1 for {@code application/*}, 2 for {@code application/json} itself. */
  private static int specificity(MediaRange r) {
    if (r.matches(MediaTypes.TEXT_PLAIN)) return 0;
    return r.matches(MediaTypes.APPLICATION_XML) ? 1 : 2;
  }

  /**
   * A JSON body as {@code type}. Jackson reads the bytes itself, so malformed UTF-8 is refused
   * (Pekko's own Jackson unmarshaller decodes to a String first, turning every bad byte into
   * U+FFFD: two different bodies would read as one).
   */
  public static <T> Unmarshaller<HttpEntity, T> unmarshaller(Class<T> type) {
    ObjectReader reader = MAPPER.readerFor(type);
    return Unmarshaller.forMediaType(MediaTypes.APPLICATION_JSON, Unmarshaller.entityToByteString())
        .thenApply(bytes -> {
          try {
            return reader.<T>readValue(bytes.toArray());
          } catch (IOException e) {
            throw new IllegalArgumentException(describe(e), e);
          }
        });
  }

  /**
   * What is wrong with a JSON body, in the client's terms: Jackson's own messages name Parley's
   * classes ("Cannot construct instance of `dev.parley...`") and its limits' settings.
   */
  static String describe(IOException e) {
    if (e instanceof StreamConstraintsException) {
      return "the JSON body nests too deep or holds a value too long";
    }
    if (e instanceof UnrecognizedPropertyException u) {
      return "unknown field '" + u.getPropertyName() + "'";
    }
    if (e instanceof JsonMappingException m && !m.getPath().isEmpty()) {
      String field = m.getPath().stream()
          .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
          .collect(Collectors.joining("."));
      return "field '" + field + "' has the wrong type or value";
    }
    if (e instanceof JsonMappingException) return "the JSON body has the wrong shape";
    return "the body is not valid JSON";
  }
}
