// Small helpers over RapidJSON. Every reader names the document it reads
// (`what`) and the exit code a fault in it maps to, so an error can say
// "auth file ~/.config/...: field 'oauth_token' must be a string" with the
// right status whether the JSON came from the user (65) or a server (76).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "util/errors.h"

namespace copilot {

struct JsonSource {
    std::string what;  // e.g. "token answer", "auth file /path"
    Exit code;         // exit code for a malformed document
};

using JsonValue = rapidjson::Value;

// Parses `text` (iteratively, so deep nesting cannot exhaust the stack).
// Throws Error(src.code) if it is not JSON, if an object at any depth has two
// members of one name ("auth file X: duplicate key 'oauth_token'"; names
// compare decoded, so "a" and "\u0061" are one key), or if `object_required`
// and the top level is not an object.
rapidjson::Document json_parse(std::string_view text, const JsonSource& src,
                               bool object_required = true);

// Required fields: missing or mistyped -> Error naming the field.
std::string json_string(const JsonValue& obj, const char* field, const JsonSource& src);
int64_t json_int(const JsonValue& obj, const char* field, const JsonSource& src);
const JsonValue& json_object(const JsonValue& obj, const char* field, const JsonSource& src);

// Times and durations in seconds: an integer within +-2^40 (about 35,000
// years), so that sums and differences of them can never overflow.
constexpr int64_t kMaxSeconds = int64_t{1} << 40;
int64_t json_seconds(const JsonValue& obj, const char* field, const JsonSource& src);
std::optional<int64_t> json_opt_seconds(const JsonValue& obj, const char* field,
                                        const JsonSource& src);

// Optional fields: absent or null -> nullopt; present with the wrong type -> Error.
std::optional<std::string> json_opt_string(const JsonValue& obj, const char* field,
                                           const JsonSource& src);
std::optional<int64_t> json_opt_int(const JsonValue& obj, const char* field,
                                    const JsonSource& src);
const JsonValue* json_opt_object(const JsonValue& obj, const char* field,
                                 const JsonSource& src);

// Serialises a value compactly.
std::string json_dump(const JsonValue& value);

// Quotes a string as a JSON string literal (with the quotes).
std::string json_quote(std::string_view s);

// A tiny builder for the flat objects the tools write, keeping key order.
class JsonObjectWriter {
public:
    JsonObjectWriter();
    JsonObjectWriter& field(const char* key, std::string_view value);
    JsonObjectWriter& field(const char* key, const char* value) {
        return field(key, std::string_view(value));
    }
    JsonObjectWriter& field(const char* key, int64_t value);
    JsonObjectWriter& field(const char* key, int value) { return field(key, int64_t{value}); }
    JsonObjectWriter& field(const char* key, bool value);
    JsonObjectWriter& null_field(const char* key);
    JsonObjectWriter& raw_field(const char* key, std::string_view json);  // already JSON
    std::string str();  // closes the object; call once

private:
    rapidjson::StringBuffer buf_;
    rapidjson::Writer<rapidjson::StringBuffer> w_;
};

}  // namespace copilot
