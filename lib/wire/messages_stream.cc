// The Messages side of an answer: a Chat answer as a whole Messages
// answer, a Chat stream as Messages events, and Anthropic's error bodies
// (the request is wire/messages.cc; the header is wire/messages.h).
#include "wire/messages.h"

#include <algorithm>

#include "util/json.h"
#include "util/text.h"
#include "wire/messages_docs.h"

namespace copilot::wire {

using namespace mdocs;

// --- answer ----------------------------------------------------------------

namespace {

const char* stop_reason(std::string_view finish, bool tool_calls) {
    if (tool_calls || finish == "tool_calls" || finish == "function_call") return "tool_use";
    if (finish == "length") return "max_tokens";
    if (finish == "content_filter") return "refusal";
    return "end_turn";
}

void write_usage(Writer& w, const Usage& u) {
    w.StartObject();
    w.Key("input_tokens");
    w.Int64(std::max<int64_t>(0, u.input - u.cached));
    w.Key("cache_creation_input_tokens");
    w.Int64(0);
    w.Key("cache_read_input_tokens");
    w.Int64(u.cached);
    w.Key("output_tokens");
    w.Int64(u.output);
    w.EndObject();
}

std::string_view reasoning_of(const JsonValue& m) {
    std::string_view r = str_or_empty(m, "reasoning_text");
    return r.empty() ? str_or_empty(m, "reasoning_content") : r;
}

}  // namespace

std::string chat_to_messages_answer(std::string_view chat_answer, const Context& ctx) {
    const auto doc = json_parse(chat_answer, kAnswer);
    std::string text, thinking, signature, finish;
    std::vector<std::string> tool_blocks;
    // Copilot may put the text and the tool calls in separate choices: all are merged.
    if (const JsonValue* choices = member(doc, "choices"); choices && choices->IsArray()) {
        for (const auto& c : choices->GetArray()) {
            if (const std::string_view f = str_or_empty(c, "finish_reason"); !f.empty() && finish.empty())
                finish = std::string(f);
            const JsonValue* m = member(c, "message");
            if (!m || !m->IsObject()) continue;
            text += str_or_empty(*m, "content");
            thinking += reasoning_of(*m);
            if (signature.empty()) signature = std::string(str_or_empty(*m, "reasoning_opaque"));
            const JsonValue* calls = member(*m, "tool_calls");
            if (!calls || !calls->IsArray()) continue;
            for (const auto& tc : calls->GetArray()) {
                const JsonValue* fn = member(tc, "function");
                if (!fn) continue;
                std::string id(str_or_empty(tc, "id"));
                if (id.empty()) id = make_id("toolu_");
                // Arguments that are not a JSON object: input {} (messages.h).
                std::string input = "{}";
                const std::string_view args = str_or_empty(*fn, "arguments");
                try {
                    if (!args.empty()) input = json_dump(json_parse(args, kAnswer));
                } catch (const Error&) {
                }
                tool_blocks.push_back(JsonObjectWriter()
                                          .field("type", "tool_use")
                                          .field("id", id)
                                          .field("name", str_or_empty(*fn, "name"))
                                          .raw_field("input", input)
                                          .str());
            }
        }
    }
    const Usage usage = usage_of(Api::chat, doc);

    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("id");
    write_str(w, ctx.id.empty() ? make_id("msg_") : ctx.id);
    w.Key("type");
    w.String("message");
    w.Key("role");
    w.String("assistant");
    w.Key("model");
    write_str(w, ctx.model);
    w.Key("content");
    w.StartArray();
    if (!thinking.empty() || !signature.empty()) {
        w.StartObject();
        w.Key("type");
        w.String("thinking");
        w.Key("thinking");
        write_str(w, thinking);
        w.Key("signature");
        write_str(w, signature);
        w.EndObject();
    }
    if (!text.empty()) {
        w.StartObject();
        w.Key("type");
        w.String("text");
        w.Key("text");
        write_str(w, text);
        w.EndObject();
    }
    for (const auto& b : tool_blocks) w.RawValue(b.data(), b.size(), rapidjson::kObjectType);
    w.EndArray();
    w.Key("stop_reason");
    w.String(stop_reason(finish, !tool_blocks.empty()));
    w.Key("stop_sequence");
    w.Null();
    w.Key("usage");
    write_usage(w, usage);
    w.EndObject();
    return buf.GetString();
}

// --- stream ----------------------------------------------------------------

ChatToMessagesStream::ChatToMessagesStream(EventSink& out, Context ctx, int64_t input_tokens)
    : out_(out), ctx_(std::move(ctx)), input_estimate_(input_tokens) {
    if (ctx_.id.empty()) ctx_.id = make_id("msg_");
}

void ChatToMessagesStream::emit(const char* type, const std::string& data) {
    out_.event(type, data);  // the event's name is its data's type
}

void ChatToMessagesStream::start() {
    if (started_) return;
    started_ = true;
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("type");
    w.String("message_start");
    w.Key("message");
    w.StartObject();
    w.Key("id");
    write_str(w, ctx_.id);
    w.Key("type");
    w.String("message");
    w.Key("role");
    w.String("assistant");
    w.Key("model");
    write_str(w, ctx_.model);
    w.Key("content");
    w.StartArray();
    w.EndArray();
    w.Key("stop_reason");
    w.Null();
    w.Key("stop_sequence");
    w.Null();
    w.Key("usage");
    w.StartObject();
    w.Key("input_tokens");
    w.Int64(input_estimate_);
    w.Key("output_tokens");
    w.Int64(0);
    w.EndObject();
    w.EndObject();
    w.EndObject();
    emit("message_start", buf.GetString());
}

void ChatToMessagesStream::open(Block kind, const std::string& block_json) {
    close();
    block_ = kind;
    ++index_;
    emit("content_block_start", JsonObjectWriter()
                                    .field("type", "content_block_start")
                                    .field("index", index_)
                                    .raw_field("content_block", block_json)
                                    .str());
}

void ChatToMessagesStream::close() {
    if (block_ == Block::none) return;
    block_ = Block::none;
    emit("content_block_stop",
         JsonObjectWriter().field("type", "content_block_stop").field("index", index_).str());
}

namespace {
std::string delta_event(int index, const char* type, const char* key, std::string_view value) {
    const std::string delta = JsonObjectWriter().field("type", type).field(key, value).str();
    return JsonObjectWriter()
        .field("type", "content_block_delta")
        .field("index", index)
        .raw_field("delta", delta)
        .str();
}
}  // namespace

void ChatToMessagesStream::event(std::string_view, std::string_view data) {
    if (finished_) return;
    if (trim(data) == "[DONE]") {
        end();
        return;
    }
    rapidjson::Document chunk;
    try {
        chunk = json_parse(data, kChunk);
    } catch (const Error& e) {
        // The contract (wire.h): an event that cannot be read ends the stream.
        fail(e.what());
        return;
    }
    start();
    if (member(chunk, "usage")) usage_ = usage_of(Api::chat, chunk);
    const JsonValue* choices = member(chunk, "choices");
    if (!choices || !choices->IsArray()) return;
    for (const auto& c : choices->GetArray()) {
        const int64_t choice = int_or_zero(c, "index");
        if (const std::string_view f = str_or_empty(c, "finish_reason"); !f.empty())
            finish_ = std::string(f);
        const JsonValue* d = member(c, "delta");
        if (!d || !d->IsObject()) continue;
        if (const std::string_view r = reasoning_of(*d); !r.empty()) {
            if (block_ != Block::thinking)
                open(Block::thinking, "{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}");
            emit("content_block_delta", delta_event(index_, "thinking_delta", "thinking", r));
        }
        if (const std::string_view sig = str_or_empty(*d, "reasoning_opaque"); !sig.empty()) {
            if (block_ != Block::thinking)
                open(Block::thinking, "{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}");
            emit("content_block_delta", delta_event(index_, "signature_delta", "signature", sig));
        }
        if (const std::string_view t = str_or_empty(*d, "content"); !t.empty()) {
            if (block_ != Block::text) open(Block::text, "{\"type\":\"text\",\"text\":\"\"}");
            emit("content_block_delta", delta_event(index_, "text_delta", "text", t));
        }
        const JsonValue* calls = member(*d, "tool_calls");
        if (!calls || !calls->IsArray()) continue;
        for (const auto& tc : calls->GetArray()) {
            const int64_t idx = int_or_zero(tc, "index");
            const std::string_view id = str_or_empty(tc, "id");
            const JsonValue* fn = member(tc, "function");
            // A new call: another (choice, index), or another id (some
            // upstreams repeat the id in every fragment of one call).
            const bool same = block_ == Block::tool && choice == tool_choice_ &&
                              idx == tool_index_ && (id.empty() || id == tool_id_);
            if (!same) {
                tool_choice_ = choice;
                tool_index_ = idx;
                tool_id_ = id.empty() ? make_id("toolu_") : std::string(id);
                open(Block::tool, JsonObjectWriter()
                                      .field("type", "tool_use")
                                      .field("id", tool_id_)
                                      .field("name", fn ? str_or_empty(*fn, "name") : "")
                                      .raw_field("input", "{}")
                                      .str());
                saw_tool_ = true;
            }
            if (const std::string_view args = fn ? str_or_empty(*fn, "arguments") : "";
                !args.empty())
                emit("content_block_delta",
                     delta_event(index_, "input_json_delta", "partial_json", args));
        }
    }
}

void ChatToMessagesStream::end() {
    if (finished_) return;
    start();
    close();
    finished_ = true;
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("type");
    w.String("message_delta");
    w.Key("delta");
    w.StartObject();
    w.Key("stop_reason");
    w.String(stop_reason(finish_, saw_tool_));
    w.Key("stop_sequence");
    w.Null();
    w.EndObject();
    w.Key("usage");
    write_usage(w, usage_);
    w.EndObject();
    emit("message_delta", buf.GetString());
    emit("message_stop", "{\"type\":\"message_stop\"}");
}

void ChatToMessagesStream::fail_as(std::string_view error_type, std::string_view message) {
    if (finished_) return;
    close();
    finished_ = true;
    emit("error", anthropic_error_body(error_type, message));
}

void ChatToMessagesStream::ping() {
    if (finished_) return;
    start();
    emit("ping", "{\"type\":\"ping\"}");
}

// --- errors ----------------------------------------------------------------

const char* anthropic_error_type(int status) {
    switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 500: return "api_error";
    case 529: return "overloaded_error";
    default: return status >= 500 && status <= 599 ? "api_error" : "invalid_request_error";
    }
}

std::string anthropic_error_body(std::string_view type, std::string_view message) {
    const std::string error = JsonObjectWriter().field("type", type).field("message", message).str();
    return JsonObjectWriter().field("type", "error").raw_field("error", error).str();
}

std::string anthropic_error_body(int status, std::string_view message) {
    return anthropic_error_body(anthropic_error_type(status), message);
}

}  // namespace copilot::wire
