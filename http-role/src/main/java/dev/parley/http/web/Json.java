package dev.parley.http.web;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import com.fasterxml.jackson.module.paramnames.ParameterNamesModule;
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

  public static final ObjectMapper MAPPER = new ObjectMapper()
      .registerModule(new Jdk8Module())
      .registerModule(new JavaTimeModule())
      .registerModule(new ParameterNamesModule())
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      // {"password":"a"}{"password":"b"} or a key given twice is a malformed request, not a guess
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

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
  public static Route answering(java.util.function.Supplier<Route> inner) {
    return Directives.extractRequest(req -> {
      boolean refused = req.getHeader(Accept.class)
          .map(a -> java.util.stream.StreamSupport.stream(a.getMediaRanges().spliterator(), false)
              .noneMatch((MediaRange r) -> r.matches(MediaTypes.APPLICATION_JSON)))
          .orElse(false);
      return refused
          ? Directives.complete(ApiError.response(StatusCodes.NOT_ACCEPTABLE, "not_acceptable",
              "this route answers application/json, which the Accept header rules out"))
          : inner.get();
    });
  }

  public static <T> Unmarshaller<HttpEntity, T> unmarshaller(Class<T> type) {
    return Jackson.unmarshaller(MAPPER, type);
  }
}
