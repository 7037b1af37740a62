// The three wire APIs the Copilot API speaks (OpenAI Chat, OpenAI Responses,
// Anthropic Messages) and the contract every translation between them keeps.
// Pure: documents in, documents out, no I/O (ARCHITECTURE.md, "Wire APIs").
//
// A translation has three parts, each for one pair (client API -> upstream
// API): the request body, a whole answer, and a stream. Streams are
// translated event by event: the upstream's SSE events go in through
// EventSink::event(), the client's events come out through another
// EventSink, so two translations chain (Messages -> Chat -> Responses).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/errors.h"

namespace copilot::wire {

enum class Api { chat, responses, messages };

// "/chat/completions", "/responses", "/v1/messages": the upstream path, and
// the entry of a model's supported_endpoints that names it.
const char* api_path(Api api);
// "chat", "responses", "messages": in log lines, --api, the ledger.
const char* api_name(Api api);
std::optional<Api> api_from_name(std::string_view name);
// A supported_endpoints entry ("/responses", "/v1/messages", ...); nullopt
// for the others ("ws:/responses", "/embeddings", ...).
std::optional<Api> api_from_endpoint(std::string_view endpoint);

// What a client's request says about itself, read without translating it.
struct RequestFacts {
    std::string model;
    bool stream = false;
    // X-Initiator: "agent" when the last message / input item is not the
    // user's own turn (a tool result, an assistant continuation); system and
    // developer messages never decide it.
    bool agent = false;
    bool vision = false;  // an image anywhere: Copilot-Vision-Request: true
};

// A request field that cannot be carried to the upstream API without
// changing the answer: the client gets a 400 in its own error shape that
// names `field` ("tools[2].type"). Never a silent drop.
class Untranslatable : public Error {
public:
    Untranslatable(std::string field, const std::string& message)
        : Error(Exit::data, message), field_(std::move(field)) {}
    const std::string& field() const { return field_; }

private:
    std::string field_;
};

// Token counts as the answer reported them (0 when it did not).
struct Usage {
    int64_t input = 0;
    int64_t output = 0;
    int64_t cached = 0;     // input tokens read from the prompt cache
    int64_t reasoning = 0;  // output tokens spent reasoning
};

// Per request: what the translated answer is to say about itself.
struct Context {
    std::string model;    // the id the client asked for (answers name it)
    std::string id;       // the answer's id ("resp_…", "msg_…", "chatcmpl-…"); made up when ""
    int64_t created = 0;  // unix seconds
};

// One SSE event: `name` is its `event:` field ("" when it has none), `data`
// its data (for Chat, a chunk's JSON or "[DONE]").
class EventSink {
public:
    virtual ~EventSink() = default;
    virtual void event(std::string_view name, std::string_view data) = 0;
};

// Writes events as text/event-stream bytes ("event: NAME\ndata: DATA\n\n",
// one data line per line of DATA) appended to *out.
class SseWriter : public EventSink {
public:
    explicit SseWriter(std::string* out) : out_(out) {}
    void event(std::string_view name, std::string_view data) override;

private:
    std::string* out_;
};

// An upstream stream turned into the client's: events in, events out to the
// sink it was made with. event() never throws: an event it cannot read ends
// the stream through fail(), so the client still gets a well-formed stream.
class StreamTranslator : public EventSink {
public:
    // The upstream stream ended as it should (its last event, "[DONE]", or EOF
    // after a complete answer): the client's closing events.
    virtual void end() = 0;
    // The upstream failed mid-stream (cut, error event, timeout): the client's
    // own error event, after closing what is open so the stream stays well-formed.
    virtual void fail(std::string_view message) = 0;
    // What the upstream reported so far.
    virtual Usage usage() const = 0;
};

}  // namespace copilot::wire
