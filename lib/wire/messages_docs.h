// The pieces of documents that both halves of the Messages <-> Chat
// translation read and build (wire/messages: the request; wire/messages_stream:
// the answer and the stream): tolerant readers for server answers, the JSON
// writer, ids. Internal to lib/wire (ARCHITECTURE.md, "Wire APIs").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/json.h"
#include "wire/responses_docs.h"

namespace copilot::wire::mdocs {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

inline const JsonSource kAnswer{"Chat answer", Exit::protocol};
inline const JsonSource kChunk{"Chat stream chunk", Exit::protocol};

// A member that is present and not null, or nullptr.
inline const JsonValue* member(const JsonValue& obj, const char* key) { return docs::get(obj, key); }

using docs::sv;

// A string member, "" when absent or not a string (answers from servers).
inline std::string_view str_or_empty(const JsonValue& obj, const char* key) {
    const JsonValue* v = member(obj, key);
    return v && v->IsString() ? sv(*v) : std::string_view();
}

// An integer member, 0 when absent or not an integer (answers from servers).
inline int64_t int_or_zero(const JsonValue& obj, const char* key) {
    const JsonValue* v = member(obj, key);
    if (!v) return 0;
    if (v->IsInt64()) return v->GetInt64();
    if (v->IsDouble() && v->GetDouble() >= 0 && v->GetDouble() < 9.0e15)
        return static_cast<int64_t>(v->GetDouble());
    return 0;
}

inline void write_str(Writer& w, std::string_view s) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// An Anthropic-style id: the prefix and 24 random hex digits.
inline std::string make_id(const char* prefix) { return prefix + docs::random_hex(24); }

}  // namespace copilot::wire::mdocs
