// Anthropic Messages <-> OpenAI Chat: the request, the whole answer, the
// stream, and Anthropic's error bodies. Pure (ARCHITECTURE.md, "Wire APIs").
// Messages -> Responses is this translation chained with Chat <-> Responses.
//
// What Chat cannot carry and does not change the answer is dropped and named
// in ChatRequest::dropped (copilot-serve logs it, copilot-serve(1) lists
// messages_droppable_fields()); what would change it is wire::Untranslatable.
//
// Choices made where Chat has no equivalent:
// - tool_result blocks become role "tool" messages, in order, right after
//   the assistant message that asked; the same user turn's other blocks
//   follow them as one user message (Chat requires the tool messages first).
//   A tool_result's images cannot go in a tool message: they join that user
//   message. is_error: true -> the tool message's text starts "Error: ".
// - thinking / redacted_thinking blocks in the history are dropped (Chat has
//   no field for them); top_k is dropped.
// - thinking {enabled, budget_tokens} -> reasoning_effort low (< 4096),
//   medium (< 16384), high; adaptive -> medium; only when the model takes
//   reasoning (ChatOptions::reasoning), else dropped.
// - The answer: finish_reason stop -> end_turn (Chat does not say whether a
//   stop sequence matched, so stop_sequence is always null), length ->
//   max_tokens, tool_calls (or any tool call present) -> tool_use,
//   content_filter -> refusal. A tool call whose arguments are not a JSON
//   object gets input {} (whole answers; a stream relays the text as it came).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/json.h"
#include "wire/wire.h"

namespace copilot::wire {

// Reads a Messages request body. Throws Error(Exit::data) when it is not a
// JSON object or `model` / `messages` are missing or mistyped.
RequestFacts messages_facts(std::string_view body);
RequestFacts messages_facts(const JsonValue& request);  // of a body parsed already: an object

struct ChatOptions {
    bool reasoning = false;  // the upstream model takes reasoning_effort
};

struct ChatRequest {
    std::string body;                  // the Chat request, JSON
    // Fields left out, each named once: "top_k", "tools[].defer_loading", ...
    std::vector<std::string> dropped;
};

// A Messages request as a Chat request. Throws Untranslatable (a server
// tool: tools[i].type; a content block Chat has no part for:
// messages[i].content[j].type) or Error(Exit::data) for a malformed body.
ChatRequest messages_to_chat_request(std::string_view body, const ChatOptions& options = {});

// Every field messages_to_chat_request may drop, as ChatRequest::dropped
// names it (NAME: any name), and when: for the man page.
struct DroppableField {
    const char* field;
    const char* when;
};
const std::vector<DroppableField>& messages_droppable_fields();

// A whole Chat answer (a chat.completion) as a Messages `message`.
// Throws Error(Exit::protocol) when it is not a JSON object.
std::string chat_to_messages_answer(std::string_view chat_answer, const Context& ctx);

// A Chat stream (chunks as events, "[DONE]" last) as a Messages stream.
// input_tokens: the estimate message_start reports (Chat reports usage only
// at the end; message_delta then carries the real counts).
class ChatToMessagesStream : public StreamTranslator {
public:
    ChatToMessagesStream(EventSink& out, Context ctx, int64_t input_tokens = 0);
    void event(std::string_view name, std::string_view data) override;
    void end() override;  // also on "[DONE]"; once only
    void fail(std::string_view message) override { fail_as("api_error", message); }
    // error_type: "api_error", "overloaded_error", ...
    void fail_as(std::string_view error_type, std::string_view message);
    // The upstream is silent: an `event: ping` keeps the client waiting.
    void ping();
    Usage usage() const override { return usage_; }

private:
    enum class Block { none, text, thinking, tool };
    void start();
    void open(Block kind, const std::string& start_json);
    void close();
    void emit(const char* type, const std::string& data);

    EventSink& out_;
    Context ctx_;
    int64_t input_estimate_;
    Usage usage_;
    bool started_ = false, finished_ = false, saw_tool_ = false;
    Block block_ = Block::none;
    int index_ = -1;             // the open content block's index
    int64_t tool_choice_ = -1;   // the open tool block: its Chat choice index
    int64_t tool_index_ = -1;    // ... its Chat tool_calls index
    std::string tool_id_;        // ... its id
    std::string finish_;         // the last finish_reason seen
};

// Anthropic's error type for an HTTP status: 400 invalid_request_error, 401
// authentication_error, 403 permission_error, 404 not_found_error, 413
// request_too_large, 429 rate_limit_error, 500 api_error, 529
// overloaded_error; other 5xx api_error, other statuses invalid_request_error.
const char* anthropic_error_type(int status);
// {"type":"error","error":{"type":…,"message":…}}
std::string anthropic_error_body(int status, std::string_view message);
std::string anthropic_error_body(std::string_view type, std::string_view message);

}  // namespace copilot::wire
