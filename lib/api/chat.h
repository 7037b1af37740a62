// Chat completions against the Copilot API (or any OpenAI-compatible
// server): where the Copilot token and base URL come from, the request
// body, the streaming loop (SSE -> chunks -> text as it arrives), the
// non-streaming answer, error mapping with the one token refresh, and the
// /models list.
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

#include "auth/copilot_token.h"
#include "util/errors.h"
#include "net/http.h"

namespace copilot {

constexpr const char* kDefaultChatModel = "gpt-4.1";  // costs no premium requests
constexpr size_t kMaxPromptInput = 8u << 20;           // stdin prompt, --messages file

using LogFn = std::function<void(const std::string&)>;

// --- the Copilot token and base URL -----------------------------------------

struct ChatAuthRequest {
    std::string host = "github.com";
    std::string profile;
    std::optional<std::string> token_file;  // --token-file FILE, "-" = standard input
    std::optional<std::string> api_url;     // --api-url
    LogFn log;                              // --verbose notes (never a secret)
    RetryHook on_retry;                     // HTTP retries during a token exchange
};

struct ChatAuth {
    std::string token;    // secret: the Copilot token
    std::string host;
    std::string api_url;  // base URL without a trailing slash
    std::string source;   // for messages: "--token-file FILE", "COPILOT_TOKEN", "the token cache"
    // Gets a new token from the library (forced exchange). Empty when the
    // token came from --token-file or COPILOT_TOKEN: there is nothing to refresh.
    std::function<std::string()> refresh;
    std::vector<std::string> warnings;
};

// First match wins: --token-file > COPILOT_TOKEN > the cache, refreshed
// through the library (get_copilot_token) from the stored GitHub token.
// Base URL: --api-url > COPILOT_API_URL > the token document's api_url when
// trusted (is_trusted_copilot_api_url) > default_copilot_api_url(host).
ChatAuth resolve_chat_auth(const ChatAuthRequest& req, int64_t now);

// A token given by the user: copilot-token's JSON document (text starting
// with '{') or a bare token. Error(data) naming `what` if it is neither;
// Error(permission) if it has already expired. `api_url` receives the
// document's api_url when it is trusted for its host.
std::string parse_token_input(std::string_view text, const std::string& what, int64_t now,
                              std::string* api_url, std::string* host,
                              std::vector<std::string>* warnings);

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

// Error(data) naming `what` if `text` is not valid UTF-8 (JSON needs it).
void check_utf8(std::string_view text, const std::string& what);

// The JSON body of POST /chat/completions. Error(data) for a malformed
// messages document; Error(usage) when there is nothing to send.
std::string build_chat_body(const ChatRequest& req);

// --- answers --------------------------------------------------------------------

struct Usage {
    int64_t prompt_tokens = 0;
    int64_t completion_tokens = 0;
    int64_t total_tokens = 0;
};

// One streamed chunk (choice 0 only: we ask for one).
struct ChatChunk {
    std::string id;
    std::string model;
    int64_t created = 0;
    std::optional<std::string> role;
    std::string content;  // the content delta, may be empty
    std::optional<std::string> finish_reason;
    std::optional<Usage> usage;
};

// Parses the data of one SSE event (not "[DONE]"). Tolerant: empty
// choices (prompt filter results), a usage-only chunk and missing fields
// are fine. Error(protocol) if it is not a JSON object; an
// {"error": ...} chunk throws the error it carries (api_error_exit).
ChatChunk parse_chat_chunk(std::string_view data);

// The exit code for an error code the service sends ("quota_exceeded",
// "rate_limited", ...) with the HTTP status it came with (0 mid-stream).
Exit api_error_exit(const std::string& code, long status);

// "message" and "code" from an error body in any of the shapes servers use:
// {"error": {"message", "code"}}, {"error": "text"}, {"message": ...}, or
// plain text. One line, bounded, with `secret` masked.
struct ApiError {
    std::string message;
    std::string code;
};
ApiError parse_api_error(std::string_view body, const std::string& secret);

// Builds the non-streaming completion object from streamed chunks, for
// --json: id, object "chat.completion", created, model, choices[0]
// {index, message {role, content}, finish_reason}, usage (when sent).
class CompletionAssembler {
public:
    void add(const ChatChunk& c);
    std::string json() const;  // one line, no newline
    const std::string& content() const { return content_; }

private:
    std::string id_, model_, role_ = "assistant", content_;
    int64_t created_ = 0;
    std::optional<std::string> finish_reason_;
    std::optional<Usage> usage_;
};

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
ChatResult run_chat(ChatAuth& auth, const ChatRequest& req, const ChatIo& io);

// --- models ---------------------------------------------------------------------

struct ModelInfo {
    std::string id;
    std::string name;
    std::string vendor;
    std::string type = "chat";           // capabilities.type; "chat" when not given
    std::optional<int64_t> context_window;
    std::optional<int64_t> max_output;
    std::optional<bool> picker;          // model_picker_enabled
    bool preview = false;
};

// GET {api}/models (raw body), with the same refresh/retry rules.
std::string fetch_models(ChatAuth& auth, const LogFn& log);

// Parses {"data": [...]} (or a bare array). Entries without a string id are
// skipped; mistyped optional fields are ignored. Error(protocol) if the
// answer is not such a list.
std::vector<ModelInfo> parse_models(std::string_view body);

// Chat models first, in the server's order, duplicates dropped; with `all`
// the other kinds (embeddings, ...) follow.
std::vector<ModelInfo> select_models(const std::vector<ModelInfo>& models, bool all);

// $XDG_CACHE_HOME/copilot-utils/models.txt: the chat model ids last listed,
// one per line, for shell completion.
std::string models_cache_path();
void write_models_cache(const std::vector<ModelInfo>& models);

}  // namespace copilot
