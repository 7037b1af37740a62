// The bodies copilot-serve writes itself: OpenAI-style errors, the model
// list in OpenAI's shape, /healthz, the SSE event that ends a cut stream;
// and what it reads of a request body.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "auth/token_keeper.h"
#include "wire/wire.h"

namespace copilot {

// {"error":{"message":M,"type":T,"param":null,"code":C}} (code null when empty).
std::string openai_error(std::string_view message, std::string_view type,
                         std::string_view code = "");
// OpenAI's error type for an HTTP status: invalid_request_error,
// authentication_error, permission_error, not_found_error, rate_limit_error,
// server_error.
const char* error_type_for_status(long status);

// An error in the shape of the client's API: OpenAI's (above) for Chat and
// Responses, Anthropic's {"type":"error","error":{"type","message"}} for
// Messages, the type from the status either way.
std::string client_error(wire::Api api, long status, std::string_view message,
                         std::string_view code = "");

// What the proxy needs from a request body before it goes anywhere.
// `json_object` is false when the body is not a JSON object; `fault` then
// says why when it is not JSON at all or has a fault json_parse refuses (a
// duplicate key at any depth). `facts` is what the body says of itself in
// the client's API (wire::RequestFacts): model, stream, initiator, images.
struct InspectedBody {
    bool json_object = false;
    std::string fault;
    wire::RequestFacts facts;
};
InspectedBody inspect_request_body(std::string_view body, wire::Api api = wire::Api::chat);

// Copilot's model list in OpenAI's shape: {"object":"list","data":[...]}
// where every entry keeps its fields and gains "object":"model",
// "created" and "owned_by" when it lacks them. A bare array is accepted.
// Error(protocol) when it is not a list.
std::string openai_models(std::string_view copilot_body);
// GET /models/{id}: the first entry of that list whose "id" is `id`, in the
// same per-entry shape, or nullopt when there is none. Error(protocol) as
// openai_models.
std::optional<std::string> openai_model(std::string_view copilot_body, std::string_view id);
// The 404 body for a model that is not in the list: OpenAI's code
// "model_not_found", the id shortened and cleared as the log clears client text.
std::string model_not_found_body(std::string_view id);

// The body to send a client for an upstream error answer: the upstream's own
// JSON when it is already in the client's shape (an "error" object; for
// Messages, {"type":"error",...}), else an error in the client's shape built
// from whatever it sent. `secret` is masked in either case.
std::string upstream_error_body(long status, std::string_view body, const std::string& secret,
                                wire::Api api = wire::Api::chat);

// The event that ends a stream whose upstream failed mid-way:
// "data: {"error":{...}}\n\n" (Messages: "event: error\ndata: {"type":"error",...}"),
// preceded by a blank line when `tail` (the last bytes relayed) does not
// already end an event.
std::string sse_error_event(std::string_view message, std::string_view tail,
                            wire::Api api = wire::Api::chat);

// GET /healthz: {"status":"ok"|"starting"|"waiting_for_login"|"unavailable",
// "host", "token_ready", "token_expires_at", "token_expires_in",
// "token_refresh_at", "api_url", "requests_in_flight",
// "upstream_requests_in_flight", ...}. No secrets. The last counts the
// exchanges with the Copilot API not yet finished: one whose client left
// or that the shutdown cancelled is finished within a second or so.
std::string health_json(const TokenStatus& s, const std::string& host, int64_t now,
                        uint64_t in_flight, uint64_t upstream_in_flight);

}  // namespace copilot
