#include "api/chat_stream.h"

#include <array>
#include <cstdint>
#include <cstring>

#include "api/api_error.h"
#include "api/lenient_json.h"
#include "util/utf8.h"

namespace copilot {

using lenient::int_member;
using lenient::member;
using lenient::str_member;

namespace {

std::optional<Usage> parse_usage(const JsonValue& obj) {
    const JsonValue* u = member(obj, "usage");
    if (!u || !u->IsObject()) return std::nullopt;
    Usage usage;
    usage.prompt_tokens = int_member(*u, "prompt_tokens").value_or(0);
    usage.completion_tokens = int_member(*u, "completion_tokens").value_or(0);
    int64_t sum = 0;
    if (__builtin_add_overflow(usage.prompt_tokens, usage.completion_tokens, &sum))
        sum = INT64_MAX;  // absurd counts from a server must not be UB
    usage.total_tokens = int_member(*u, "total_tokens").value_or(sum);
    if (const JsonValue* d = member(*u, "prompt_tokens_details"); d && d->IsObject())
        usage.cached_tokens = int_member(*d, "cached_tokens").value_or(0);
    if (const JsonValue* d = member(*u, "completion_tokens_details"); d && d->IsObject())
        usage.reasoning_tokens = int_member(*d, "reasoning_tokens").value_or(0);
    return usage;
}

// Text that can stand inside a JSON string as it is: no quote, backslash or
// control character, and valid UTF-8 (check_utf8, which is at least as strict
// as the JSON parser).
bool is_plain_text(std::string_view s) {
    // One table look-up a byte, no branch (this runs on every chunk of a long
    // answer): bit 1 a byte that cannot stand in a JSON string as it is, bit 2
    // a byte of a multi-byte UTF-8 character.
    static constexpr auto kind = [] {
        std::array<unsigned char, 256> t{};
        for (int c = 0; c < 0x20; ++c) t[c] = 1;
        t['"'] = t['\\'] = 1;
        for (int c = 0x80; c < 0x100; ++c) t[c] = 2;
        return t;
    }();
    unsigned seen = 0;
    for (char ch : s) seen |= kind[static_cast<unsigned char>(ch)];
    if (seen & 1) return false;
    if (!(seen & 2)) return true;
    try {
        check_utf8(s, "text");
        return true;
    } catch (const Error&) {
        return false;
    }
}

}  // namespace

std::string_view StreamStart::feed(std::string_view bytes) {
    if (mode_ == Mode::unknown) {
        const size_t at = bytes.find_first_not_of(" \t\r\n");
        if (at == std::string_view::npos) {
            if (lead_.size() + bytes.size() > 4096)
                throw Error(Exit::protocol, "the answer starts with only blank space");
            lead_.append(bytes.data(), bytes.size());
            return {};
        }
        mode_ = bytes[at] == '{' ? Mode::json : Mode::sse;
        if (mode_ == Mode::sse && !lead_.empty()) {
            lead_.append(bytes.data(), bytes.size());
            return lead_;  // valid until the next feed
        }
        lead_.clear();
    } else if (!lead_.empty()) {
        lead_.clear();
        lead_.shrink_to_fit();
    }
    if (mode_ == Mode::json) {
        if (json_.size() + bytes.size() > kMaxWholeAnswer)
            throw Error(Exit::protocol,
                        "the answer is larger than " + std::to_string(kMaxWholeAnswer) + " bytes");
        json_.append(bytes.data(), bytes.size());
        return {};
    }
    return bytes;
}

ChatChunk read_chat_chunk(const JsonValue& doc) {
    ChatChunk c;
    c.id = str_member(doc, "id").value_or("");
    c.model = str_member(doc, "model").value_or("");
    c.created = int_member(doc, "created").value_or(0);
    c.usage = parse_usage(doc);
    const JsonValue* choices = member(doc, "choices");
    if (!choices || !choices->IsArray()) return c;
    const JsonValue* choice = nullptr;
    for (const auto& ch : choices->GetArray()) {
        if (!ch.IsObject()) continue;
        if (int_member(ch, "index").value_or(0) == 0) {
            choice = &ch;
            break;
        }
    }
    if (!choice) return c;
    c.finish_reason = str_member(*choice, "finish_reason");
    const JsonValue* delta = member(*choice, "delta");
    if (!delta) delta = member(*choice, "message");  // some servers send whole messages
    if (!delta || !delta->IsObject()) return c;
    c.role = str_member(*delta, "role");
    if (const JsonValue* calls = member(*delta, "tool_calls"); calls && calls->IsArray()) {
        int64_t k = 0;
        for (const auto& tc : calls->GetArray()) {
            ToolCallDelta d;
            d.index = int_member(tc, "index").value_or(k++);
            d.id = str_member(tc, "id").value_or("");
            d.type = str_member(tc, "type").value_or("");
            if (const JsonValue* fn = member(tc, "function"); fn && fn->IsObject()) {
                d.name = str_member(*fn, "name").value_or("");
                d.arguments = str_member(*fn, "arguments").value_or("");
            }
            c.tool_calls.push_back(std::move(d));
        }
    }
    if (const JsonValue* content = member(*delta, "content")) {
        if (!content->IsString())
            throw Error(Exit::protocol, "answer: field 'content' must be a string");
        c.content.assign(content->GetString(), content->GetStringLength());
    }
    return c;
}

ChatChunk parse_chat_chunk(std::string_view data) {
    rapidjson::Document doc = json_parse(data, JsonSource{"answer chunk", Exit::protocol});
    if (const JsonValue* err = member(doc, "error"))
        throw answer_error(*err, "in the middle of the answer");
    return read_chat_chunk(doc);
}

void CompletionAssembler::add(const ChatChunk& c) {
    if (id_.empty() && !c.id.empty()) id_ = c.id;
    if (model_.empty() && !c.model.empty()) model_ = c.model;
    if (created_ == 0 && c.created != 0) created_ = c.created;
    if (c.role && !c.role->empty()) role_ = *c.role;
    content_ += c.content;
    add_tool_calls(c.tool_calls);
    if (c.finish_reason) finish_reason_ = c.finish_reason;
    if (c.usage) usage_ = c.usage;
}

void CompletionAssembler::add_tool_calls(const std::vector<ToolCallDelta>& pieces) {
    for (const auto& d : pieces) {
        size_t at = 0;
        while (at < call_index_.size() && call_index_[at] != d.index) ++at;
        if (at == calls_.size()) {
            calls_.emplace_back();
            call_index_.push_back(d.index);
        }
        ToolCall& call = calls_[at];
        if (call.id.empty()) call.id = d.id;
        if (!d.type.empty()) call.type = d.type;
        call.name += d.name;  // streamed names come whole, but some servers split them
        call.arguments += d.arguments;
    }
}

std::string CompletionAssembler::json() const {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    auto text = [&w](const std::string& s) {
        w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    };
    w.StartObject();
    w.Key("id");
    text(id_);
    w.Key("object");
    w.String("chat.completion");
    w.Key("created");
    w.Int64(created_);
    w.Key("model");
    text(model_);
    w.Key("choices");
    w.StartArray();
    w.StartObject();
    w.Key("index");
    w.Int(0);
    w.Key("message");
    w.StartObject();
    w.Key("role");
    text(role_);
    w.Key("content");
    text(content_);
    if (!calls_.empty()) {
        w.Key("tool_calls");
        w.StartArray();
        for (const auto& call : calls_) {
            w.StartObject();
            w.Key("id");
            text(call.id);
            w.Key("type");
            text(call.type);
            w.Key("function");
            w.StartObject();
            w.Key("name");
            text(call.name);
            w.Key("arguments");
            text(call.arguments);
            w.EndObject();
            w.EndObject();
        }
        w.EndArray();
    }
    w.EndObject();
    w.Key("finish_reason");
    if (finish_reason_)
        text(*finish_reason_);
    else
        w.Null();
    w.EndObject();
    w.EndArray();
    if (usage_) {
        w.Key("usage");
        w.StartObject();
        w.Key("prompt_tokens");
        w.Int64(usage_->prompt_tokens);
        w.Key("completion_tokens");
        w.Int64(usage_->completion_tokens);
        w.Key("total_tokens");
        w.Int64(usage_->total_tokens);
        w.EndObject();
    }
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

// --- the fast path -----------------------------------------------------------------

std::optional<std::string_view> SteadyChunks::match(std::string_view data) const {
    if (!ready_ || data.size() <= prefix_.size() + suffix_.size()) return std::nullopt;
    // memcmp: the size is known to fit, so compare()'s length checks are waste.
    if (std::memcmp(data.data(), prefix_.data(), prefix_.size()) != 0 ||
        std::memcmp(data.data() + data.size() - suffix_.size(), suffix_.data(),
                    suffix_.size()) != 0)
        return std::nullopt;
    std::string_view text =
        data.substr(prefix_.size(), data.size() - prefix_.size() - suffix_.size());
    if (!is_plain_text(text)) return std::nullopt;
    return text;
}

void SteadyChunks::learn(std::string_view data, const ChatChunk& parsed) {
    if (probes_ >= kMaxProbes || parsed.content.empty() || !is_plain_text(parsed.content))
        return;
    const std::string key = "\"content\":\"" + parsed.content + "\"";
    const size_t at = data.find(key);
    if (at == std::string_view::npos) return;
    const size_t text_at = at + key.size() - parsed.content.size() - 1;
    const std::string_view prefix = data.substr(0, text_at);
    const std::string_view suffix = data.substr(text_at + parsed.content.size());
    ++probes_;  // bounded: a server whose every chunk differs costs a few parses, not 2x
    const std::string probe = parsed.content == "x" ? "y" : "x";
    ChatChunk c;
    try {
        c = parse_chat_chunk(std::string(prefix) + probe + std::string(suffix));
    } catch (const Error&) {
        return;
    }
    if (c.content != probe) return;
    c.content.clear();
    std::string p(prefix), s(suffix);  // allocated before any member changes
    chunk_ = std::move(c);
    prefix_ = std::move(p);
    suffix_ = std::move(s);
    ready_ = true;
}

// trim(data) == "[DONE]", without copying every event's data.
bool is_done_marker(std::string_view data) {
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!data.empty() && blank(data.front())) data.remove_prefix(1);
    while (!data.empty() && blank(data.back())) data.remove_suffix(1);
    return data == "[DONE]";
}

}  // namespace copilot
