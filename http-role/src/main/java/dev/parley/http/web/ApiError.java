package dev.parley.http.web;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.nio.charset.StandardCharsets;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;

/**
 * The one error shape of the API: {@code {"error": "<code>", "message": "<text>"}}. {@code error} is
 * a stable machine-readable code (snake_case), {@code message} is for people.
 */
public record ApiError(String error, String message) {

  public static HttpResponse response(StatusCode status, String error, String message) {
    byte[] body;
    try {
      body = Json.MAPPER.writeValueAsBytes(new ApiError(error, message));
    } catch (JsonProcessingException e) {
      body = ("{\"error\":\"" + error + "\",\"message\":\"\"}").getBytes(StandardCharsets.UTF_8);
    }
    return HttpResponse.create().withStatus(status).withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body));
  }

  /** The default code for a status: 404 -> not_found, 413 -> payload_too_large, ... */
  public static String code(StatusCode status) {
    return switch (status.intValue()) {
      case 400 -> "bad_request";
      case 401 -> "unauthorized";
      case 403 -> "forbidden";
      case 404 -> "not_found";
      case 405 -> "method_not_allowed";
      case 406 -> "not_acceptable";
      case 408 -> "request_timeout";
      case 409 -> "conflict";
      case 411 -> "length_required";
      case 413 -> "payload_too_large";
      case 414 -> "uri_too_long";
      case 415 -> "unsupported_media_type";
      case 416 -> "range_not_satisfiable";
      case 422 -> "unprocessable_entity";
      case 429 -> "too_many_requests";
      case 431 -> "request_header_fields_too_large";
      case 500 -> "internal_error";
      case 501 -> "not_implemented";
      case 503 -> "unavailable";
      case 504 -> "timeout";
      default -> status.isSuccess() ? "ok" : "error_" + status.intValue();
    };
  }
}
