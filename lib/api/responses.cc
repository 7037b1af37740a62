#include "api/responses.h"

#include <exception>

#include "api/answer_call.h"
#include "api/api_call.h"
#include "api/lenient_json.h"
#include "net/sse.h"
#include "util/json.h"
#include "util/text.h"

namespace copilot {

using lenient::int_member;
using lenient::member;
using lenient::str_member;

namespace {

constexpr AnswerPath kAt{"/responses", "response.completed"};

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void text(Writer& w, std::string_view s) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void raw(Writer& w, const JsonValue& v) {
    const std::string dumped = json_dump(v);  // its own stack: no recursion per level
    w.RawValue(dumped.data(), dumped.size(), v.GetType());
}

void message_item(Writer& w, const char* role, const std::string& content) {
    w.StartObject();
    w.Key("type");
    w.String("message");
    w.Key("role");
    w.String(role);
    w.Key("content");
    text(w, content);
    w.EndObject();
}

// A chat content part as a Responses one; `at` names it in errors.
void content_part(Writer& w, const JsonValue& part, bool assistant, const std::string& at) {
    auto type = str_member(part, "type");
    if (!type) throw Error(Exit::data, at + ": field 'type' must be a string");
    if (*type == "text") {
        auto t = str_member(part, "text");
        if (!t) throw Error(Exit::data, at + ": field 'text' must be a string");
        w.StartObject();
        w.Key("type");
        w.String(assistant ? "output_text" : "input_text");
        w.Key("text");
        text(w, *t);
        w.EndObject();
        return;
    }
    if (*type == "image_url") {
        const JsonValue* img = member(part, "image_url");
        std::optional<std::string> url;
        std::optional<std::string> detail;
        if (img && img->IsString()) url = std::string(img->GetString(), img->GetStringLength());
        if (img && img->IsObject()) {
            url = str_member(*img, "url");
            detail = str_member(*img, "detail");
        }
        if (!url) throw Error(Exit::data, at + ": field 'image_url.url' must be a string");
        w.StartObject();
        w.Key("type");
        w.String("input_image");
        w.Key("image_url");
        text(w, *url);
        if (detail) {
            w.Key("detail");
            text(w, *detail);
        }
        w.EndObject();
        return;
    }
    if (*type == "input_text" || *type == "output_text" || *type == "input_image") {
        raw(w, part);  // already a Responses part
        return;
    }
    throw Error(Exit::data, at + ": content part type '" + printable(*type) +
                                "' cannot be sent to the Responses API");
}

// The text of a content that must be a string (a tool result): a string, or
// the text parts of an array joined.
std::string plain_content(const JsonValue* content, const std::string& at) {
    if (!content) return "";
    if (content->IsString()) return std::string(content->GetString(), content->GetStringLength());
    std::string out;
    for (const auto& part : content->GetArray()) {
        auto t = str_member(part, "text");
        if (!t) throw Error(Exit::data, at + ": a tool result's content parts must be text");
        out += *t;
    }
    return out;
}

// One OpenAI chat message (checked by build_chat_body's rules) as input items.
void message_items(Writer& w, const JsonValue& m, const std::string& at) {
    const std::string role = str_member(m, "role").value_or("");
    const JsonValue* content = member(m, "content");
    if (role == "tool") {
        auto id = str_member(m, "tool_call_id");
        if (!id) throw Error(Exit::data, at + ": field 'tool_call_id' must be a string");
        w.StartObject();
        w.Key("type");
        w.String("function_call_output");
        w.Key("call_id");
        text(w, *id);
        w.Key("output");
        text(w, plain_content(content, at));
        w.EndObject();
        return;
    }
    if (role != "system" && role != "developer" && role != "user" && role != "assistant")
        throw Error(Exit::data, at + ": role '" + printable(role) +
                                    "' cannot be sent to the Responses API");
    const bool assistant = role == "assistant";
    // An assistant turn that only calls tools has no message item; any other
    // turn keeps its place even when empty.
    const bool has_content =
        !assistant || (content && (!content->IsString() || content->GetStringLength() > 0));
    if (has_content) {
        w.StartObject();
        w.Key("type");
        w.String("message");
        w.Key("role");
        text(w, role);
        w.Key("content");
        if (!content) {
            w.String("");
        } else if (content->IsString()) {
            raw(w, *content);
        } else {
            w.StartArray();
            size_t k = 0;
            for (const auto& part : content->GetArray())
                content_part(w, part, assistant, at + ": part " + std::to_string(++k));
            w.EndArray();
        }
        w.EndObject();
    }
    const JsonValue* calls = member(m, "tool_calls");
    if (!calls) return;
    if (!assistant || !calls->IsArray())
        throw Error(Exit::data, at + ": field 'tool_calls' must be an array on an assistant message");
    size_t k = 0;
    for (const auto& tc : calls->GetArray()) {
        const std::string cat = at + ": tool call " + std::to_string(++k);
        const JsonValue* fn = member(tc, "function");
        auto id = str_member(tc, "id");
        auto name = fn ? str_member(*fn, "name") : std::nullopt;
        if (!id || !name) throw Error(Exit::data, cat + ": needs 'id' and 'function.name'");
        w.StartObject();
        w.Key("type");
        w.String("function_call");
        w.Key("call_id");
        text(w, *id);
        w.Key("name");
        text(w, *name);
        w.Key("arguments");
        text(w, str_member(*fn, "arguments").value_or("{}"));
        w.EndObject();
    }
}

}  // namespace

std::string build_responses_body(const ChatRequest& req) {
    build_chat_body(req);  // the same checks of --messages, and "nothing to send"
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("model");
    text(w, req.model);
    w.Key("input");
    w.StartArray();
    if (req.system) message_item(w, "system", *req.system);
    if (req.messages_json) {
        rapidjson::Document doc =
            json_parse(*req.messages_json, JsonSource{req.messages_what, Exit::data}, false);
        size_t k = 0;
        for (const auto& m : doc.GetArray())
            message_items(w, m, req.messages_what + ": message " + std::to_string(++k));
    }
    if (req.prompt) message_item(w, "user", *req.prompt);
    w.EndArray();
    if (req.temperature) {
        w.Key("temperature");
        w.Double(*req.temperature);
    }
    if (req.max_tokens) {
        w.Key("max_output_tokens");
        w.Int64(*req.max_tokens);
    }
    if (req.reasoning_effort) {
        w.Key("reasoning");
        w.StartObject();
        w.Key("effort");
        text(w, *req.reasoning_effort);
        if (req.reasoning_summary) {
            w.Key("summary");
            w.String("auto");
        }
        w.EndObject();
    }
    if (req.schema) {
        w.Key("text");
        w.StartObject();
        w.Key("format");
        w.StartObject();
        w.Key("type");
        w.String("json_schema");
        w.Key("name");
        w.String("answer");
        w.Key("schema");
        w.RawValue(req.schema->data(), req.schema->size(), rapidjson::kObjectType);
        w.EndObject();
        w.EndObject();
    }
    w.Key("stream");
    w.Bool(req.stream);
    w.Key("store");  // copilot-chat keeps no server-side state
    w.Bool(false);
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

namespace {

std::optional<Usage> response_usage(const JsonValue& response) {
    const JsonValue* u = member(response, "usage");
    if (!u || !u->IsObject()) return std::nullopt;
    Usage usage;
    usage.prompt_tokens = int_member(*u, "input_tokens").value_or(0);
    usage.completion_tokens = int_member(*u, "output_tokens").value_or(0);
    int64_t sum = 0;
    if (__builtin_add_overflow(usage.prompt_tokens, usage.completion_tokens, &sum))
        sum = INT64_MAX;
    usage.total_tokens = int_member(*u, "total_tokens").value_or(sum);
    if (const JsonValue* d = member(*u, "input_tokens_details"); d && d->IsObject())
        usage.cached_tokens = int_member(*d, "cached_tokens").value_or(0);
    if (const JsonValue* d = member(*u, "output_tokens_details"); d && d->IsObject())
        usage.reasoning_tokens = int_member(*d, "reasoning_tokens").value_or(0);
    return usage;
}

std::optional<ToolCall> function_call(const JsonValue& item) {
    if (str_member(item, "type").value_or("") != "function_call") return std::nullopt;
    ToolCall c;
    c.id = str_member(item, "call_id").value_or(str_member(item, "id").value_or(""));
    c.name = str_member(item, "name").value_or("");
    c.arguments = str_member(item, "arguments").value_or("");
    return c;
}

// The finish_reason of a response object, in Chat's words.
std::optional<std::string> finish_of(const JsonValue& response, bool calls) {
    const std::string status = str_member(response, "status").value_or("");
    if (status == "incomplete") {
        const JsonValue* d = member(response, "incomplete_details");
        const std::string why = d ? str_member(*d, "reason").value_or("") : "";
        if (why == "max_output_tokens") return std::string("length");
        if (why == "content_filter") return std::string("content_filter");
        return std::string("length");
    }
    if (status == "completed") return std::string(calls ? "tool_calls" : "stop");
    return std::nullopt;
}

// A failed response or an error event as the Error it carries.
Error failure(const JsonValue& doc, const std::string& where, const std::string& secret) {
    const JsonValue* err = member(doc, "error");
    Error e = err ? answer_error(*err, where) : answer_error(doc, where);
    return Error(e.code(), redact(e.what(), secret));
}

// The fields of a whole response object; its text when `deliver_text`.
void read_response(const JsonValue& response, ChatResult& result, std::string* text_out) {
    result.id = str_member(response, "id").value_or(result.id);
    result.model = str_member(response, "model").value_or(result.model);
    result.usage = response_usage(response);
    result.tool_calls.clear();
    if (const JsonValue* out = member(response, "output"); out && out->IsArray()) {
        for (const auto& item : out->GetArray()) {
            if (auto c = function_call(item)) {
                result.tool_calls.push_back(std::move(*c));
                continue;
            }
            if (!text_out || str_member(item, "type").value_or("") != "message") continue;
            const JsonValue* parts = member(item, "content");
            if (!parts || !parts->IsArray()) continue;
            for (const auto& p : parts->GetArray())
                if (str_member(p, "type").value_or("") == "output_text")
                    *text_out += str_member(p, "text").value_or("");
        }
    }
    result.finish_reason = finish_of(response, !result.tool_calls.empty());
}

void deliver_response(std::string_view body, const ChatIo& io, ChatResult& result,
                      const std::string& secret) {
    rapidjson::Document doc = json_parse(body, JsonSource{"responses answer", Exit::protocol});
    if (member(doc, "error") && str_member(doc, "status").value_or("") != "completed")
        throw failure(doc, "instead of an answer", secret);
    std::string answer;
    read_response(doc, result, &answer);
    if (io.want_json)
        result.json = json_dump(doc);
    else if (io.on_text && !answer.empty())
        io.on_text(answer);
}

struct StreamState {
    SseParser parser;
    std::string pending;
    bool done = false;  // response.completed or .incomplete seen
};

}  // namespace

ChatResult run_responses(ApiCredentials& auth, const ChatRequest& req, const ChatIo& io) {
    const std::string body = build_responses_body(req);
    ChatResult result;
    if (!req.stream) {
        deliver_response(post_for_answer(auth, kAt, body, req, io, result), io, result, auth.token);
        return result;
    }

    StreamState st;
    auto flush = [&]() {
        if (st.pending.empty()) return;
        std::string t;
        t.swap(st.pending);
        if (io.on_text) io.on_text(t);
    };
    const std::string mid = "in the middle of the answer";
    auto on_event = [&](const SseEvent& ev) {
        if (st.done || is_done_marker(ev.data)) return;
        rapidjson::Document doc;
        try {
            doc = json_parse(ev.data, JsonSource{"answer event", Exit::protocol});
        } catch (const Error& e) {
            throw Error(e.code(), redact(e.what(), auth.token));
        }
        const std::string type =
            str_member(doc, "type").value_or(ev.type == "message" ? "" : ev.type);
        if (type == "response.output_text.delta") {
            if (!io.want_json) st.pending += str_member(doc, "delta").value_or("");
        } else if (type == "response.reasoning_summary_text.delta") {
            if (io.on_reasoning) io.on_reasoning(str_member(doc, "delta").value_or(""));
        } else if (type == "response.output_item.done") {
            if (const JsonValue* item = member(doc, "item"))
                if (auto c = function_call(*item)) result.tool_calls.push_back(std::move(*c));
        } else if (type == "response.created") {
            if (const JsonValue* resp = member(doc, "response")) {
                result.id = str_member(*resp, "id").value_or("");
                result.model = str_member(*resp, "model").value_or("");
            }
        } else if (type == "response.completed" || type == "response.incomplete") {
            const JsonValue* resp = member(doc, "response");
            if (!resp || !resp->IsObject())
                throw Error(Exit::protocol, "answer: " + type + " without a response object");
            read_response(*resp, result, nullptr);
            if (io.want_json) result.json = json_dump(*resp);
            st.done = true;
        } else if (type == "response.failed") {
            const JsonValue* resp = member(doc, "response");
            throw failure(resp ? *resp : doc, mid, auth.token);
        } else if (type == "error") {
            throw failure(doc, mid, auth.token);
        }
        // the other events (content_part.added, output_text.done, ...) carry nothing new for us
    };
    auto feed = [&](std::string_view sse) {
        st.parser.feed(sse, on_event);
        return st.done;
    };
    if (auto json = post_for_stream(auth, kAt, body, req, io, result, st.parser, feed, flush))
        deliver_response(*json, io, result, auth.token);
    return result;
}

}  // namespace copilot
