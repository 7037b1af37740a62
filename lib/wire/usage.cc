#include "wire/usage.h"

#include <optional>

namespace copilot::wire {

namespace {

const JsonValue* object_at(const JsonValue& obj, const char* key) {
    if (!obj.IsObject()) return nullptr;
    auto it = obj.FindMember(key);
    return it != obj.MemberEnd() && it->value.IsObject() ? &it->value : nullptr;
}

// A count as servers send it: an integer, or a whole number written as a
// double; anything else is no count.
std::optional<int64_t> count_at(const JsonValue* obj, const char* key) {
    if (!obj || !obj->IsObject()) return std::nullopt;
    auto it = obj->FindMember(key);
    if (it == obj->MemberEnd()) return std::nullopt;
    const JsonValue& v = it->value;
    if (v.IsInt64()) return v.GetInt64() >= 0 ? std::optional<int64_t>(v.GetInt64()) : std::nullopt;
    if (v.IsDouble() && v.GetDouble() >= 0 && v.GetDouble() < 9.0e15)
        return static_cast<int64_t>(v.GetDouble());
    return std::nullopt;
}

void take(std::optional<int64_t> v, int64_t* into) {
    if (v) *into = *v;
}

}  // namespace

bool read_usage(Api api, const JsonValue& doc, Usage* into) {
    const JsonValue* u = object_at(doc, "usage");
    if (!u && api == Api::responses)
        if (const JsonValue* r = object_at(doc, "response")) u = object_at(*r, "usage");
    if (!u && api == Api::messages)
        if (const JsonValue* m = object_at(doc, "message")) u = object_at(*m, "usage");
    if (!u) return false;
    if (api == Api::messages) {
        const auto read = count_at(u, "cache_read_input_tokens");
        if (const auto in = count_at(u, "input_tokens"))
            into->input = *in + read.value_or(0) + count_at(u, "cache_creation_input_tokens").value_or(0);
        take(read, &into->cached);
        take(count_at(u, "output_tokens"), &into->output);
        return true;
    }
    // Chat's names, or the Responses API's for the same four counts.
    const bool chat = api == Api::chat;
    take(count_at(u, chat ? "prompt_tokens" : "input_tokens"), &into->input);
    take(count_at(u, chat ? "completion_tokens" : "output_tokens"), &into->output);
    take(count_at(object_at(*u, chat ? "prompt_tokens_details" : "input_tokens_details"),
                  "cached_tokens"),
         &into->cached);
    take(count_at(object_at(*u, chat ? "completion_tokens_details" : "output_tokens_details"),
                  "reasoning_tokens"),
         &into->reasoning);
    return true;
}

}  // namespace copilot::wire
