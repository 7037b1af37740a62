#include "api/chat.h"

#include <exception>

#include "api/answer_call.h"
#include "api/api_call.h"
#include "api/catalogue.h"
#include "api/lenient_json.h"
#include "net/sse.h"
#include "util/json.h"
#include "util/text.h"

namespace copilot {

namespace {

constexpr AnswerPath kAt{"/chat/completions", "[DONE]"};

}  // namespace

// --- the request -----------------------------------------------------------------

std::optional<std::string> compose_prompt(const std::optional<std::string>& args,
                                          const std::optional<std::string>& stdin_text) {
    const bool has_args = args && !trim(*args).empty();
    const bool has_stdin = stdin_text && !trim(*stdin_text).empty();
    if (has_args && has_stdin) return *args + "\n\n" + *stdin_text;
    if (has_args) return *args;
    if (has_stdin) return *stdin_text;
    return std::nullopt;
}

std::string build_chat_body(const ChatRequest& req) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    auto text = [&w](std::string_view s) {
        w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    };
    auto message = [&](const char* role, const std::string& content) {
        w.StartObject();
        w.Key("role");
        w.String(role);
        w.Key("content");
        text(content);
        w.EndObject();
    };

    w.StartObject();
    w.Key("model");
    text(req.model);
    w.Key("messages");
    w.StartArray();
    size_t count = 0;
    if (req.system) {
        message("system", *req.system);
        ++count;
    }
    if (req.messages_json) {
        const JsonSource src{req.messages_what, Exit::data};
        rapidjson::Document doc = json_parse(*req.messages_json, src, false);
        if (!doc.IsArray())
            throw Error(Exit::data, src.what + ": expected a JSON array of messages");
        size_t k = 0;
        for (const auto& m : doc.GetArray()) {
            ++k;
            const std::string at = src.what + ": message " + std::to_string(k);
            if (!m.IsObject()) throw Error(Exit::data, at + " is not an object");
            auto role = m.FindMember("role");
            if (role == m.MemberEnd() || !role->value.IsString() ||
                role->value.GetStringLength() == 0)
                throw Error(Exit::data, at + ": field 'role' must be a non-empty string");
            auto content = m.FindMember("content");
            if (content != m.MemberEnd() && !content->value.IsString() &&
                !content->value.IsArray() && !content->value.IsNull())
                throw Error(Exit::data, at + ": field 'content' must be a string or an array");
            // json_dump walks with its own stack; Accept() would recurse
            // once per level of a deeply nested message.
            const std::string raw = json_dump(m);
            w.RawValue(raw.data(), raw.size(), m.GetType());
            ++count;
        }
    }
    if (req.prompt) {
        message("user", *req.prompt);
        ++count;
    }
    w.EndArray();
    if (count == 0)
        throw Error(Exit::usage, "nothing to send: give a prompt (as arguments or on standard "
                                 "input) or --messages");
    if (req.temperature) {
        w.Key("temperature");
        w.Double(*req.temperature);
    }
    if (req.max_tokens) {
        w.Key("max_tokens");
        w.Int64(*req.max_tokens);
    }
    if (req.reasoning_effort) {
        w.Key("reasoning_effort");
        text(*req.reasoning_effort);
    }
    if (req.schema) {
        w.Key("response_format");
        w.StartObject();
        w.Key("type");
        w.String("json_schema");
        w.Key("json_schema");
        w.StartObject();
        w.Key("name");
        w.String("answer");
        w.Key("schema");
        w.RawValue(req.schema->data(), req.schema->size(), rapidjson::kObjectType);
        w.EndObject();
        w.EndObject();
    }
    w.Key("stream");
    w.Bool(req.stream);
    if (req.stream) {  // OpenAI sends the usage chunk only when asked; Copilot always does
        w.Key("stream_options");
        w.StartObject();
        w.Key("include_usage");
        w.Bool(true);
        w.EndObject();
    }
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

// --- the answer ------------------------------------------------------------------

namespace {

// The whole (non-streamed) completion object: deliver it.
void deliver_completion(std::string_view body, const ChatIo& io, ChatResult& result,
                        const std::string& secret) {
    rapidjson::Document doc = json_parse(body, JsonSource{"chat answer", Exit::protocol});
    if (const JsonValue* err = lenient::member(doc, "error")) {
        Error e = answer_error(*err, "instead of an answer");
        throw Error(e.code(), redact(e.what(), secret));
    }
    ChatChunk c = read_chat_chunk(doc);
    CompletionAssembler calls;
    calls.add_tool_calls(c.tool_calls);
    result.tool_calls = calls.tool_calls();
    result.id = c.id;
    result.model = c.model;
    result.finish_reason = c.finish_reason;
    result.usage = c.usage;
    if (io.want_json)
        result.json = json_dump(doc);
    else if (io.on_text && !c.content.empty())
        io.on_text(c.content);
}

// The state of one streamed answer, shared by the body callback and the
// code that looks at the outcome.
struct StreamState {
    SseParser parser;
    std::string pending;    // text of one read, written in one go
    bool done = false;      // [DONE] seen
    CompletionAssembler assembler;
    SteadyChunks steady;
};

}  // namespace

void throw_chat_status(ApiCredentials& auth, const HttpResponse& r, bool refreshed,
                       const ChatRequest& req, const ChatIo& io) {
    if (io.reroute) {
        const ApiError e = parse_api_error(r.body, auth.token);
        if (says_unsupported(r.status, e) && io.reroute(e))
            throw Rerouted("HTTP " + std::to_string(r.status) + " [" + e.code + "]");
    }
    throw status_error(auth, r, refreshed, "chat completion", &req.model, io.log,
                       io.known_models ? io.known_models() : nullptr);
}

ChatResult run_chat(ApiCredentials& auth, const ChatRequest& req, const ChatIo& io) {
    const std::string body = build_chat_body(req);
    ChatResult result;
    if (!req.stream) {
        deliver_completion(post_for_answer(auth, kAt, body, req, io, result), io, result, auth.token);
        return result;
    }

    StreamState st;
    auto flush = [&]() {
        if (st.pending.empty()) return;
        std::string text;
        text.swap(st.pending);
        if (io.on_text) io.on_text(text);
    };
    // One chunk's fields, with its content given apart (see SteadyChunks).
    auto take = [&](const ChatChunk& c, std::string_view content) {
        if (!c.id.empty() && result.id.empty()) result.id = c.id;
        if (!c.model.empty() && result.model.empty()) result.model = c.model;
        if (c.finish_reason) result.finish_reason = c.finish_reason;
        if (c.usage) result.usage = c.usage;
        if (io.want_json) {
            // the assembler keeps the calls too
            ChatChunk whole = c;
            whole.content.assign(content.data(), content.size());
            st.assembler.add(whole);
        } else {
            st.pending.append(content.data(), content.size());
            if (!c.tool_calls.empty())
                st.assembler.add_tool_calls(c.tool_calls);  // never dropped (issue 13)
        }
    };
    // Views, not copies: most events are taken by SteadyChunks straight from
    // the bytes read (net/sse.h, SseEventView).
    auto on_event = [&](const SseEventView& ev) {
        if (st.done) return;
        if (is_done_marker(ev.data)) {
            st.done = true;
            return;
        }
        if (ev.type != "message") {
            if (ev.type == "error")
                throw Error(Exit::protocol,
                            with_detail("the server reported an error in the middle of the answer",
                                        parse_api_error(ev.data, auth.token)));
            return;  // other event kinds carry nothing for us
        }
        if (auto text = st.steady.match(ev.data)) {
            take(st.steady.chunk(), *text);
            return;
        }
        ChatChunk c;
        try {
            c = parse_chat_chunk(ev.data);
        } catch (const Error& e) {
            throw Error(e.code(), redact(e.what(), auth.token));
        }
        st.steady.learn(ev.data, c);
        take(c, c.content);
    };
    auto feed = [&](std::string_view sse) {
        st.parser.feed_views(sse, on_event);
        return st.done;
    };
    if (auto json = post_for_stream(auth, kAt, body, req, io, result, st.parser, feed, flush)) {
        deliver_completion(*json, io, result, auth.token);
        return result;
    }
    if (io.want_json) result.json = st.assembler.json();
    result.tool_calls = st.assembler.tool_calls();
    return result;
}

}  // namespace copilot
