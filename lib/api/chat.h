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

#include "api/api_error.h"
#include "api/chat_stream.h"
#include "api/models.h"
#include "auth/credentials.h"
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
    bool stream = true;
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
    std::optional<std::string> finish_reason;
    std::optional<Usage> usage;
    std::string json;  // with ChatIo::want_json: the completion object (one line)
};

struct ChatIo {
    // The answer text as it arrives (not called with want_json). May throw
    // (e.g. a closed stdout): the transfer stops and the exception comes
    // out of run_chat.
    std::function<void(std::string_view)> on_text;
    bool want_json = false;
    LogFn log;
};

// Sends the request and delivers the answer. Retries: 401/403 before the
// answer starts -> one token refresh (when auth.refresh is set) and one
// retry; 429 and 5xx -> up to 3 retries honouring Retry-After; connection
// errors only before the first byte. Errors (after the text so far was
// delivered): stream cut off or without [DONE] -> protocol; mid-stream
// error -> by its code; 400 model_not_supported -> usage, with the ids
// /models offers; 402 -> permission; 429 -> temp; 5xx -> unavailable.
ChatResult run_chat(ApiCredentials& auth, const ChatRequest& req, const ChatIo& io);

// --usage: "tokens: P prompt + C completion = T total", or that the server
// sent no counts.
std::string usage_text(const std::optional<Usage>& usage);

}  // namespace copilot
