#include "util/json.h"

#include <algorithm>
#include <vector>

#include <rapidjson/error/en.h>

namespace copilot {

namespace {

[[noreturn]] void field_error(const JsonSource& src, const char* field, const char* problem) {
    throw Error(src.code, src.what + ": field '" + field + "' " + problem);
}

const JsonValue* find(const JsonValue& obj, const char* field) {
    if (!obj.IsObject()) return nullptr;
    auto it = obj.FindMember(field);
    return it == obj.MemberEnd() ? nullptr : &it->value;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// RapidJSON 1.1.0 accepts an escaped low surrogate that follows no high one
// ("\udc00") and stores it as bytes that are not UTF-8, so whatever the tools
// wrote from such a document they could not read back. Called on text that
// parsed, where every backslash starts a valid escape inside a string.
// Returns the offset of the first lone low surrogate, or npos.
size_t lone_low_surrogate(std::string_view t) {
    bool after_high = false;
    for (size_t i = t.find('\\'); i != std::string_view::npos && i + 1 < t.size();) {
        if (t[i + 1] == 'u' && i + 5 < t.size()) {
            int cp = 0;
            for (size_t k = i + 2; k < i + 6; ++k) cp = cp * 16 + std::max(0, hex_value(t[k]));
            if (cp >= 0xDC00 && cp <= 0xDFFF && !after_high) return i;
            after_high = cp >= 0xD800 && cp <= 0xDBFF;
            i += 6;
        } else {
            after_high = false;
            i += 2;
        }
        // A high surrogate counts only if the next escape follows at once.
        if (i < t.size() && t[i] != '\\') after_high = false;
        i = t.find('\\', i);
    }
    return std::string_view::npos;
}

// Two members with one name: RapidJSON keeps both and FindMember takes the
// first, while other parsers take the last, so a second "oauth_token",
// "model" or "stream" could pass a check made by one reader and be used by
// another. Names compare as decoded ("a" and "\u0061" are one key). Sorting
// keeps a 100,000-member object cheap; small objects are compared pairwise
// to spare the allocation. Returns a duplicated name, or nullptr.
const JsonValue* duplicate_name(const JsonValue& obj, std::vector<std::string_view>& scratch) {
    auto name = [](const JsonValue& n) { return std::string_view(n.GetString(), n.GetStringLength()); };
    const auto begin = obj.MemberBegin(), end = obj.MemberEnd();
    if (obj.MemberCount() <= 16) {
        for (auto i = begin; i != end; ++i)
            for (auto j = i + 1; j != end; ++j)
                if (name(i->name) == name(j->name)) return &i->name;
        return nullptr;
    }
    scratch.clear();
    for (auto i = begin; i != end; ++i) scratch.push_back(name(i->name));
    std::sort(scratch.begin(), scratch.end());
    auto at = std::adjacent_find(scratch.begin(), scratch.end());
    if (at == scratch.end()) return nullptr;
    for (auto i = begin; i != end; ++i)
        if (name(i->name) == *at) return &i->name;
    return nullptr;  // not reached
}

// What RapidJSON 1.1.0 accepts and the tools must not, checked in one walk
// with its own stack (any depth): a duplicate member name, and a number
// beyond the range of a double ("17e308"), which it reads as infinity
// instead of failing and which cannot be written back as JSON.
void check_values(const JsonValue& root, const JsonSource& src) {
    std::vector<const JsonValue*> todo{&root};
    std::vector<std::string_view> scratch;
    while (!todo.empty()) {
        const JsonValue* v = todo.back();
        todo.pop_back();
        if (v->IsDouble()) {
            const double d = v->GetDouble();
            if (d - d != 0)  // inf - inf is NaN
                throw Error(src.code, src.what + ": not valid JSON (a number too big for a double)");
        } else if (v->IsArray()) {
            for (const auto& e : v->GetArray()) todo.push_back(&e);
        } else if (v->IsObject()) {
            if (const JsonValue* dup = duplicate_name(*v, scratch))
                throw Error(src.code, src.what + ": duplicate key '" +
                                          one_line({dup->GetString(), dup->GetStringLength()},
                                                   "", 60) +
                                          "'");
            for (const auto& m : v->GetObject()) todo.push_back(&m.value);
        }
    }
}

// Nesting far deeper than any document of the protocol needs is refused
// before parsing: the iterative parser's stack grows with it (~25 bytes a
// level: 200 MB for the 8 MiB of "[" a prompt file may hold). At this depth
// it stays under ~7 MB. Returns the offset where the limit is passed, or npos.
constexpr int kMaxJsonDepth = 1 << 18;

size_t too_deep(std::string_view t) {
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < t.size(); ++i) {
        const char c = t[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > kMaxJsonDepth) return i;
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return std::string_view::npos;
}

}  // namespace

rapidjson::Document json_parse(std::string_view text, const JsonSource& src,
                               bool object_required) {
    rapidjson::Document doc;
    if (text.empty()) throw Error(src.code, src.what + ": empty, expected JSON");
    // RapidJSON stops at a NUL as if the text ended there; raw NULs are
    // never valid JSON, so refuse them rather than parse a prefix.
    if (text.find('\0') != std::string_view::npos)
        throw Error(src.code, src.what + ": not valid JSON (NUL byte at byte " +
                                  std::to_string(text.find('\0')) + ")");
    if (size_t at = too_deep(text); at != std::string_view::npos)
        throw Error(src.code, src.what + ": JSON nested deeper than " +
                                  std::to_string(kMaxJsonDepth) + " levels (at byte " +
                                  std::to_string(at) + ")");
    doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
    if (doc.HasParseError()) {
        throw Error(src.code, src.what + ": not valid JSON (" +
                                  rapidjson::GetParseError_En(doc.GetParseError()) +
                                  " at byte " + std::to_string(doc.GetErrorOffset()) + ")");
    }
    if (size_t at = lone_low_surrogate(text); at != std::string_view::npos)
        throw Error(src.code, src.what + ": not valid JSON (unpaired surrogate \\u" +
                                  std::string(text.substr(at + 2, 4)) + " at byte " +
                                  std::to_string(at) + ")");
    check_values(doc, src);
    if (object_required && !doc.IsObject())
        throw Error(src.code, src.what + ": expected a JSON object");
    return doc;
}

std::string json_string(const JsonValue& obj, const char* field, const JsonSource& src) {
    const JsonValue* v = find(obj, field);
    if (!v || v->IsNull()) field_error(src, field, "is missing");
    if (!v->IsString()) field_error(src, field, "must be a string");
    return std::string(v->GetString(), v->GetStringLength());
}

int64_t json_int(const JsonValue& obj, const char* field, const JsonSource& src) {
    const JsonValue* v = find(obj, field);
    if (!v || v->IsNull()) field_error(src, field, "is missing");
    if (v->IsInt64()) return v->GetInt64();
    // Some servers send whole numbers as 1.7e9 or 1500.0; accept exact integers.
    if (v->IsDouble()) {
        double d = v->GetDouble();
        if (d >= -9.0e15 && d <= 9.0e15 && d == static_cast<double>(static_cast<int64_t>(d)))
            return static_cast<int64_t>(d);
    }
    field_error(src, field, "must be an integer");
}

int64_t json_seconds(const JsonValue& obj, const char* field, const JsonSource& src) {
    int64_t v = json_int(obj, field, src);
    if (v < -kMaxSeconds || v > kMaxSeconds) field_error(src, field, "is out of range");
    return v;
}

std::optional<int64_t> json_opt_seconds(const JsonValue& obj, const char* field,
                                        const JsonSource& src) {
    const JsonValue* v = find(obj, field);
    if (!v || v->IsNull()) return std::nullopt;
    return json_seconds(obj, field, src);
}

const JsonValue& json_object(const JsonValue& obj, const char* field, const JsonSource& src) {
    const JsonValue* v = find(obj, field);
    if (!v || v->IsNull()) field_error(src, field, "is missing");
    if (!v->IsObject()) field_error(src, field, "must be an object");
    return *v;
}

std::optional<std::string> json_opt_string(const JsonValue& obj, const char* field,
                                           const JsonSource& src) {
    const JsonValue* v = find(obj, field);
    if (!v || v->IsNull()) return std::nullopt;
    return json_string(obj, field, src);
}

std::optional<int64_t> json_opt_int(const JsonValue& obj, const char* field,
                                    const JsonSource& src) {
    const JsonValue* v = find(obj, field);
    if (!v || v->IsNull()) return std::nullopt;
    return json_int(obj, field, src);
}

const JsonValue* json_opt_object(const JsonValue& obj, const char* field,
                                 const JsonSource& src) {
    const JsonValue* v = find(obj, field);
    if (!v || v->IsNull()) return nullptr;
    return &json_object(obj, field, src);
}

std::string json_dump(const JsonValue& value) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    // Walks with its own stack: Value::Accept() recurses once per level, and
    // json_parse accepts any depth, so a deeply nested answer would overflow
    // the call stack here.
    struct Open {
        const JsonValue* v;
        rapidjson::SizeType next;  // index of the next member / element
    };
    std::vector<Open> open;
    auto start = [&](const JsonValue& v) {
        if (v.IsObject()) {
            w.StartObject();
            open.push_back({&v, 0});
        } else if (v.IsArray()) {
            w.StartArray();
            open.push_back({&v, 0});
        } else {
            v.Accept(w);  // a scalar: no recursion
        }
    };
    start(value);
    while (!open.empty()) {
        const JsonValue& v = *open.back().v;
        const rapidjson::SizeType i = open.back().next++;
        if (v.IsObject()) {
            if (i == v.MemberCount()) {
                w.EndObject(v.MemberCount());
                open.pop_back();
                continue;
            }
            const auto& m = *(v.MemberBegin() + i);
            w.Key(m.name.GetString(), m.name.GetStringLength());
            start(m.value);
        } else {
            if (i == v.Size()) {
                w.EndArray(v.Size());
                open.pop_back();
                continue;
            }
            start(v[i]);
        }
    }
    return std::string(buf.GetString(), buf.GetSize());
}

std::string json_quote(std::string_view s) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    return std::string(buf.GetString(), buf.GetSize());
}

JsonObjectWriter::JsonObjectWriter() : w_(buf_) { w_.StartObject(); }

JsonObjectWriter& JsonObjectWriter::field(const char* key, std::string_view value) {
    w_.Key(key);
    w_.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    return *this;
}

JsonObjectWriter& JsonObjectWriter::field(const char* key, int64_t value) {
    w_.Key(key);
    w_.Int64(value);
    return *this;
}

JsonObjectWriter& JsonObjectWriter::field(const char* key, bool value) {
    w_.Key(key);
    w_.Bool(value);
    return *this;
}

JsonObjectWriter& JsonObjectWriter::null_field(const char* key) {
    w_.Key(key);
    w_.Null();
    return *this;
}

JsonObjectWriter& JsonObjectWriter::raw_field(const char* key, std::string_view json) {
    w_.Key(key);
    w_.RawValue(json.data(), json.size(), rapidjson::kObjectType);
    return *this;
}

std::string JsonObjectWriter::str() {
    w_.EndObject();
    return std::string(buf_.GetString(), buf_.GetSize());
}

}  // namespace copilot
