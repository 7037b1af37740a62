// The pieces of OpenAI Chat and Responses documents that the translations
// between them (wire/responses) read and build: tolerant readers, builders,
// output items, usage both ways, the response object and the chunk head.
// Internal to lib/wire (ARCHITECTURE.md, "Wire APIs").
#pragma once

#include <cstdint>
#include <ctime>
#include <random>
#include <string>
#include <string_view>

#include "util/json.h"
#include "wire/usage.h"
#include "wire/wire.h"

namespace copilot::wire::docs {

using rapidjson::Document;
using rapidjson::kArrayType;
using rapidjson::kObjectType;
using rapidjson::Value;
using Alloc = rapidjson::Document::AllocatorType;

inline const JsonSource kRequest{"request body", Exit::data};
inline const JsonSource kAnswer{"upstream answer", Exit::protocol};
inline const JsonSource kEvent{"upstream stream event", Exit::protocol};

// ---- reading ---------------------------------------------------------------

// A member that is present and not null, or nullptr.
inline const Value* get(const Value& obj, const char* key) {
    if (!obj.IsObject()) return nullptr;
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd() || it->value.IsNull()) return nullptr;
    return &it->value;
}

inline std::string_view sv(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

[[noreturn]] inline void malformed(const JsonSource& src, const std::string& field, const char* problem) {
    throw Error(src.code, src.what + ": field '" + field + "' " + problem);
}

[[noreturn]] inline void untranslatable(const std::string& field, const std::string& why) {
    throw Untranslatable(field, "field '" + field + "' " + why);
}

inline std::string str_at(const Value& obj, const char* key, const JsonSource& src,
                   const std::string& where) {
    const Value* v = get(obj, key);
    if (!v) return "";
    if (!v->IsString()) malformed(src, where.empty() ? key : where + "." + key, "must be a string");
    return std::string(sv(*v));
}

inline const Value* array_at(const Value& obj, const char* key, const JsonSource& src,
                      const std::string& where) {
    const Value* v = get(obj, key);
    if (v && !v->IsArray()) malformed(src, where.empty() ? key : where + "." + key, "must be an array");
    return v;
}

inline int64_t int_at(const Value& obj, const char* key) {
    const Value* v = get(obj, key);
    return v && v->IsInt64() ? v->GetInt64() : 0;
}

inline std::string idx(const std::string& base, rapidjson::SizeType i) {
    return base + "[" + std::to_string(i) + "]";
}

// ---- writing ---------------------------------------------------------------

inline Value S(std::string_view s, Alloc& a) {
    return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

inline void put(Value& obj, const char* key, Value v, Alloc& a) {
    obj.AddMember(Value(key, a), v, a);
}
inline void put(Value& obj, const char* key, std::string_view s, Alloc& a) { put(obj, key, S(s, a), a); }
inline void put(Value& obj, const char* key, const char* s, Alloc& a) {
    put(obj, key, S(std::string_view(s), a), a);
}
inline void put_copy(Value& obj, const char* key, const Value& v, Alloc& a) {
    put(obj, key, Value(v, a), a);
}

inline Value obj() { return Value(kObjectType); }
inline Value arr() { return Value(kArrayType); }

inline std::string random_hex(size_t n) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static const char digits[] = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) s.push_back(digits[rng() % 16]);
    return s;
}

inline std::string make_id(const Context& ctx, const char* prefix) {
    return ctx.id.empty() ? prefix + random_hex(24) : ctx.id;
}

inline int64_t created_of(const Context& ctx) {
    return ctx.created ? ctx.created : static_cast<int64_t>(std::time(nullptr));
}

// The part of an id after its prefix ("resp_ab12" -> "ab12"), to name items.
inline std::string id_tail(const std::string& id) {
    const size_t u = id.find_first_of("_-");
    return u == std::string::npos ? id : id.substr(u + 1);
}

// An output item's id: its kind, the response's id, its output index.
inline std::string item_id(const char* prefix, const std::string& tail, size_t index) {
    return prefix + tail + "_" + std::to_string(index);
}

// ---- answers ---------------------------------------------------------------

// An answer's (or a chunk's) usage, and a Responses response object's (wire/usage).
inline Usage chat_usage(const Value& answer) { return usage_of(Api::chat, answer); }
inline Usage responses_usage(const Value& response) { return usage_of(Api::responses, response); }

inline Value responses_usage_value(const Usage& u, Alloc& a) {
    Value v = obj();
    put(v, "input_tokens", Value(u.input), a);
    Value in = obj();
    put(in, "cached_tokens", Value(u.cached), a);
    put(v, "input_tokens_details", std::move(in), a);
    put(v, "output_tokens", Value(u.output), a);
    Value out = obj();
    put(out, "reasoning_tokens", Value(u.reasoning), a);
    put(v, "output_tokens_details", std::move(out), a);
    put(v, "total_tokens", Value(u.input + u.output), a);
    return v;
}

inline Value chat_usage_value(const Usage& u, Alloc& a) {
    Value v = obj();
    put(v, "prompt_tokens", Value(u.input), a);
    put(v, "completion_tokens", Value(u.output), a);
    put(v, "total_tokens", Value(u.input + u.output), a);
    Value p = obj();
    put(p, "cached_tokens", Value(u.cached), a);
    put(v, "prompt_tokens_details", std::move(p), a);
    Value c = obj();
    put(c, "reasoning_tokens", Value(u.reasoning), a);
    put(v, "completion_tokens_details", std::move(c), a);
    return v;
}

// Output items, as both the whole answer and the stream build them.
inline Value text_part(std::string_view text, Alloc& a) {
    Value p = obj();
    put(p, "type", "output_text", a);
    put(p, "text", text, a);
    put(p, "annotations", arr(), a);
    return p;
}

inline Value message_output(const std::string& id, const char* status, Value content, Alloc& a) {
    Value item = obj();
    put(item, "id", id, a);
    put(item, "type", "message", a);
    put(item, "status", status, a);
    put(item, "role", "assistant", a);
    put(item, "content", std::move(content), a);
    return item;
}

inline Value call_output(const std::string& id, const char* status, std::string_view call_id,
                  std::string_view name, std::string_view arguments, Alloc& a) {
    Value item = obj();
    put(item, "id", id, a);
    put(item, "type", "function_call", a);
    put(item, "status", status, a);
    put(item, "call_id", call_id, a);
    put(item, "name", name, a);
    put(item, "arguments", arguments, a);
    return item;
}

// Chat's finish_reason as a Responses status and incomplete_details.reason.
inline const char* incomplete_reason(std::string_view finish) {
    if (finish == "length") return "max_output_tokens";
    if (finish == "content_filter") return "content_filter";
    return nullptr;
}

// The response object: its head fields, then output and usage.
inline Value response_object(const std::string& id, int64_t created, const std::string& model,
                      const char* status, Alloc& a) {
    Value r = obj();
    put(r, "id", id, a);
    put(r, "object", "response", a);
    put(r, "created_at", Value(created), a);
    put(r, "status", status, a);
    put(r, "error", Value(), a);
    put(r, "incomplete_details", Value(), a);
    put(r, "model", model, a);
    return r;
}

inline void set_incomplete(Value& r, const char* reason, Alloc& a) {
    r["status"].SetString("incomplete", a);
    Value det = obj();
    put(det, "reason", reason, a);
    r["incomplete_details"] = std::move(det);
}

inline std::string model_of(const Context& ctx, const Value& answer) {
    if (!ctx.model.empty()) return ctx.model;
    const Value* m = get(answer, "model");
    return m && m->IsString() ? std::string(sv(*m)) : "";
}

// The chat.completion(.chunk) head.
inline Value chat_head(const std::string& id, const char* object, int64_t created,
                const std::string& model, Alloc& a) {
    Value c = obj();
    put(c, "id", id, a);
    put(c, "object", object, a);
    put(c, "created", Value(created), a);
    put(c, "model", model, a);
    return c;
}

inline Value tool_call_value(std::string_view call_id, std::string_view name, std::string_view args,
                      Alloc& a) {
    Value call = obj();
    put(call, "id", call_id, a);
    put(call, "type", "function", a);
    Value fn = obj();
    put(fn, "name", name, a);
    put(fn, "arguments", args, a);
    put(call, "function", std::move(fn), a);
    return call;
}

// A Responses status (and incomplete reason) as Chat's finish_reason.
inline const char* finish_reason_of(const Value& response, bool calls) {
    const Value* st = get(response, "status");
    if (st && st->IsString() && sv(*st) == "incomplete") {
        const Value* det = get(response, "incomplete_details");
        const Value* reason = det ? get(*det, "reason") : nullptr;
        if (reason && reason->IsString() && sv(*reason) == "content_filter") return "content_filter";
        return "length";
    }
    return calls ? "tool_calls" : "stop";
}

inline std::string error_message(const Value& holder) {
    const Value* e = get(holder, "error");
    const Value* m = e ? get(*e, "message") : get(holder, "message");
    return m && m->IsString() ? std::string(sv(*m)) : "the upstream response failed";
}

}  // namespace copilot::wire::docs
