// Errors the Copilot API (or any OpenAI-compatible server) reports: the
// shapes of an error body, and the exit code an error code maps to.
// copilot-serve uses parse_api_error to pass upstream errors on.
#pragma once

#include <string>
#include <string_view>

#include "util/errors.h"
#include "util/json.h"

namespace copilot {

// "message" and "code" from an error body in any of the shapes servers use:
// {"error": {"message", "code"}}, {"error": "text"}, {"message": ...}, or
// plain text. One line, bounded, with `secret` masked.
struct ApiError {
    std::string message;
    std::string code;
};
ApiError parse_api_error(std::string_view body, const std::string& secret);

// The same from the value of an "error" member (an object or a string).
ApiError api_error_from(const JsonValue& err, const std::string& secret);

// The exit code for an error code the service sends ("quota_exceeded",
// "rate_limited", ...) with the HTTP status it came with (0 mid-stream).
Exit api_error_exit(const std::string& code, long status);

// An {"error": ...} inside a 2xx answer (a chunk or a whole completion), as
// an Error with the exit code its code maps to: "the server reported an
// error WHERE: message (code)".
Error answer_error(const JsonValue& err, const std::string& where);

// "head: message", or head alone when the error has no message.
std::string with_detail(const std::string& head, const ApiError& e);

}  // namespace copilot
