// Chat completions against the Copilot API (or any OpenAI-compatible
// server): the request body, the streaming loop (SSE -> chunks -> text as it
// arrives), the non-streaming answer, error mapping with the one token
// refresh. The credentials come from auth/credentials.h, the pieces of an
// answer from api/chat_stream.h, the model list from api/models.h, error
// bodies from api/api_error.h (all included here).
//
// Nothing here prints: text goes to the caller's callback, notes for
// --verbose to a log callback, failures are thrown as copilot::Error.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_error.h"
#include "api/chat_stream.h"
#include "api/models.h"
#include "api/quota.h"
#include "auth/credentials.h"
#include "net/http.h"
#include "util/errors.h"
#include "util/utf8.h"

namespace copilot {

constexpr const char* kDefaultChatModel = "gpt-4.1";  // costs no premium requests
constexpr size_t kMaxPromptInput = 8u << 20;           // stdin prompt, --messages file

// --- the request ----------------------------------------------------------------

struct ChatRequest {
    std::string model = kDefaultChatModel;
    std::optional<std::string> system;         // --system: the first message
    std::optional<std::string> messages_json;  // --messages: a JSON array of messages
    std::string messages_what = "--messages";  // names that document in errors
    std::optional<std::string> prompt;         // appended as the last user message
    std::optional<double> temperature;
    std::optional<int64_t> max_tokens;
    // --reasoning-effort: Chat's reasoning_effort, Responses' reasoning.effort.
    std::optional<std::string> reasoning_effort;
    // Responses: ask for reasoning summaries too (shown with --verbose).
    bool reasoning_summary = false;
    bool stream = true;
    // An image among the messages (--attach): Copilot-Vision-Request: true.
    bool vision = false;
    // --schema: a JSON Schema (compact JSON text) the answer must follow:
    // Chat's response_format json_schema, Responses' text.format.
    std::optional<std::string> schema;
};

// The prompt from the command line and standard input: the arguments alone,
// stdin alone, or (both) the arguments as the instruction, a blank line,
// then stdin as it is. nullopt when there is neither (or both are empty).
std::optional<std::string> compose_prompt(const std::optional<std::string>& args,
                                          const std::optional<std::string>& stdin_text);

// The JSON body of POST /chat/completions. Error(data) for a malformed
// messages document; Error(usage) when there is nothing to send.
std::string build_chat_body(const ChatRequest& req);

// --- the answer -----------------------------------------------------------------

struct ChatResult {
    std::string id;
    std::string model;
    // Chat's finish_reason; a Responses answer's is mapped to it ("stop",
    // "length" for max_output_tokens, "content_filter", "tool_calls").
    std::optional<std::string> finish_reason;
    std::optional<Usage> usage;
    // The tool calls the answer asks for (streamed or not, either API).
    std::vector<ToolCall> tool_calls;
    // With ChatIo::want_json: the completion object (Chat) or the response
    // object (Responses), one line.
    std::string json;
    // The quota headers of the answer (a malformed one: a note to io.log).
    AnswerQuota quota;
};

struct ChatIo {
    // The answer text as it arrives (not called with want_json). May throw
    // (e.g. a closed stdout): the transfer stops and the exception comes
    // out of run_chat.
    std::function<void(std::string_view)> on_text;
    bool want_json = false;
    LogFn log;
    // Reasoning summary text as it arrives (Responses); unset: not shown.
    std::function<void(std::string_view)> on_reasoning;
    // A 400 that says the model or this endpoint is unsupported
    // (says_unsupported), before any answer: when this returns true the
    // request throws Rerouted instead of the error, and the caller sends it
    // again elsewhere (api/routed_chat.h).
    std::function<bool(const ApiError&)> reroute;
    // The model list fetched moments ago, if any (a model_not_supported
    // error names its models without asking /models again).
    std::function<const std::vector<ModelInfo>*()> known_models;
};

// What a request throws when ChatIo::reroute took its error.
class Rerouted : public Error {
public:
    explicit Rerouted(const std::string& message) : Error(Exit::usage, message) {}
};

// Throws the error for a non-2xx answer to a chat request (either API):
// Rerouted when io.reroute takes it, else status_error's.
[[noreturn]] void throw_chat_status(ApiCredentials& auth, const HttpResponse& r, bool refreshed,
                                    const ChatRequest& req, const ChatIo& io);

// Sends the request and delivers the answer. Retries: 401/403 before the
// answer starts -> one token refresh (when auth.refresh is set) and one
// retry; 429 and 5xx -> up to 3 retries honouring Retry-After; connection
// errors only before the first byte. Errors (after the text so far was
// delivered): stream cut off or without [DONE] -> protocol; mid-stream
// error -> by its code; 400 model_not_supported -> usage, with the ids
// /models offers; 402 -> permission; 429 -> temp; 5xx -> unavailable.
ChatResult run_chat(ApiCredentials& auth, const ChatRequest& req, const ChatIo& io);


}  // namespace copilot
