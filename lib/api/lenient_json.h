// Lenient readers for answers from a server: a missing or mistyped optional
// field is treated as absent, so a server's extra or odd fields never break
// a chat. (The documents we own are read strictly, with util/json.h.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "util/json.h"

namespace copilot::lenient {

inline const JsonValue* member(const JsonValue& obj, const char* key) {
    if (!obj.IsObject()) return nullptr;
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd() || it->value.IsNull()) return nullptr;
    return &it->value;
}

inline std::optional<std::string> str_member(const JsonValue& obj, const char* key) {
    const JsonValue* v = member(obj, key);
    if (!v || !v->IsString()) return std::nullopt;
    return std::string(v->GetString(), v->GetStringLength());
}

inline std::optional<int64_t> int_member(const JsonValue& obj, const char* key) {
    const JsonValue* v = member(obj, key);
    if (!v) return std::nullopt;
    if (v->IsInt64()) return v->GetInt64();
    if (v->IsDouble()) {
        double d = v->GetDouble();
        if (d >= -9.0e15 && d <= 9.0e15) return static_cast<int64_t>(d);
    }
    return std::nullopt;
}

}  // namespace copilot::lenient
