// The pieces of a streamed chat answer: how its first bytes tell a stream
// from one JSON object, one chunk (an SSE event's data) parsed, the fast path
// for chunks that repeat one envelope, and the completion object assembled
// from chunks for --json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/json.h"

namespace copilot {

// The largest answer read whole (a non-streamed answer, or a server that
// ignored "stream": true): Chat's and Responses' clients alike.
constexpr size_t kMaxWholeAnswer = 16u << 20;

// The start of a streamed answer, for the Chat and the Responses client: blank
// space is held until the first byte that tells an event stream from one JSON
// object (a server that ignored "stream": true; an event stream never starts
// with '{').
class StreamStart {
public:
    enum class Mode { unknown, sse, json };
    // The answer's bytes as they come. Returns what goes to the SSE parser
    // now (the held blank space first): empty while undecided, and in JSON
    // mode, where the bytes are kept in json_body(). Error(protocol) for more
    // than 4 KiB of blank space, or a JSON answer past kMaxWholeAnswer.
    std::string_view feed(std::string_view bytes);
    Mode mode() const { return mode_; }
    const std::string& json_body() const { return json_; }

private:
    Mode mode_ = Mode::unknown;
    std::string lead_;  // blank space before the deciding byte, then lead + that read
    std::string json_;
};

struct Usage {
    int64_t prompt_tokens = 0;
    int64_t completion_tokens = 0;
    int64_t total_tokens = 0;
    // Of the prompt, read from the prompt cache (prompt_tokens_details,
    // Responses' input_tokens_details); of the completion, spent reasoning.
    int64_t cached_tokens = 0;
    int64_t reasoning_tokens = 0;
};

// A piece of one tool call in a chunk (delta.tool_calls[k]); in a whole
// message, the whole call. Pieces with the same index make one call.
struct ToolCallDelta {
    int64_t index = 0;
    std::string id, type, name, arguments;
};

// One tool call the answer asks for, assembled.
struct ToolCall {
    std::string id;
    std::string type = "function";
    std::string name;
    std::string arguments;  // JSON text, as the model wrote it
};

// One streamed chunk (choice 0 only: we ask for one).
struct ChatChunk {
    std::string id;
    std::string model;
    int64_t created = 0;
    std::optional<std::string> role;
    std::string content;  // the content delta, may be empty
    std::vector<ToolCallDelta> tool_calls;
    std::optional<std::string> finish_reason;
    std::optional<Usage> usage;
};

// Parses the data of one SSE event (not "[DONE]"). Tolerant: empty
// choices (prompt filter results), a usage-only chunk and missing fields
// are fine. Error(protocol) if it is not a JSON object; an
// {"error": ...} chunk throws the error it carries (api_error_exit).
ChatChunk parse_chat_chunk(std::string_view data);

// The fields of a parsed chunk or of a whole completion (whose "message" is
// read like a delta). Error(protocol) for a content that is not a string.
ChatChunk read_chat_chunk(const JsonValue& doc);

// trim(data) == "[DONE]", without copying every event's data.
bool is_done_marker(std::string_view data);

// Builds the non-streaming completion object from streamed chunks, for
// --json: id, object "chat.completion", created, model, choices[0]
// {index, message {role, content, tool_calls (when any)}, finish_reason},
// usage (when sent).
class CompletionAssembler {
public:
    void add(const ChatChunk& c);
    // Only the tool call pieces (plain mode keeps no text, but the calls).
    void add_tool_calls(const std::vector<ToolCallDelta>& pieces);
    std::string json() const;  // one line, no newline
    const std::string& content() const { return content_; }
    const std::vector<ToolCall>& tool_calls() const { return calls_; }

private:
    std::vector<ToolCall> calls_;
    std::vector<int64_t> call_index_;  // the stream's index of each entry of calls_
    std::string id_, model_, role_ = "assistant", content_;
    int64_t created_ = 0;
    std::optional<std::string> finish_reason_;
    std::optional<Usage> usage_;
};

// The fast path of a long answer. A stream repeats one JSON envelope around
// different text ({"id":..,"choices":[{..,"delta":{"content":"TEXT"}}]}),
// and parsing every chunk in full cost ~10x the transfer itself. So once a
// chunk has been parsed, the bytes before and after its content string are
// kept as a template; a later chunk that is exactly those bytes around
// plain text (no quote, backslash or control character, valid UTF-8)
// parses, by construction, to the same fields with that text as content,
// and is taken without parsing. The template is confirmed by parsing it
// once around a probe text: only if the probe comes back as the content is
// the split known to be the content string. Any other chunk goes through
// parse_chat_chunk.
class SteadyChunks {
public:
    // The content of `data` if it fits the template; its other fields are chunk().
    std::optional<std::string_view> match(std::string_view data) const;
    const ChatChunk& chunk() const { return chunk_; }
    // Called with each chunk that did not match, after parse_chat_chunk.
    void learn(std::string_view data, const ChatChunk& parsed);

private:
    static constexpr int kMaxProbes = 16;
    std::string prefix_, suffix_;
    ChatChunk chunk_;
    bool ready_ = false;
    int probes_ = 0;
};

}  // namespace copilot
