// json_parse, the reader under every document the tools exchange.
// Checks: any bytes either parse or throw copilot::Error (deep nesting
// included: the parser is iterative); what parses serialises (json_dump, at
// any depth) to JSON that parses again to the same value (so a document the
// tools write from parsed input can always be read back); object_required
// agrees with the value's type; the typed field readers agree with
// RapidJSON; json_quote and JsonObjectWriter produce JSON that reads back as
// the string put in.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "fuzz_common.h"
#include "util/json.h"

using namespace copilot;

namespace {

const JsonSource kSrc{"fuzz input", Exit::data};

// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        size_t n;
        uint32_t cp;
        if (c < 0x80) { ++i; continue; }
        if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
        else return false;
        if (i + n >= s.size()) return false;  // truncated sequence
        for (size_t k = 1; k <= n; ++k) {
            const auto d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (d & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

// Same structure, strings and integers; doubles within a few ulps, because
// RapidJSON's default (fast) number parsing is not exact for long mantissas.
// Iterative, like the parser: inputs may nest deeply.
bool same_value(const JsonValue& a0, const JsonValue& b0) {
    std::vector<std::pair<const JsonValue*, const JsonValue*>> todo{{&a0, &b0}};
    while (!todo.empty()) {
        auto [a, b] = todo.back();
        todo.pop_back();
        if (a->GetType() != b->GetType()) return false;
        if (a->IsString()) {
            if (std::string_view(a->GetString(), a->GetStringLength()) !=
                std::string_view(b->GetString(), b->GetStringLength()))
                return false;
        } else if (a->IsNumber()) {
            if (a->IsInt64() != b->IsInt64() || a->IsUint64() != b->IsUint64()) return false;
            if (a->IsInt64() && a->GetInt64() != b->GetInt64()) return false;
            if (a->IsUint64() && a->GetUint64() != b->GetUint64()) return false;
            if (!a->IsInt64() && !a->IsUint64()) {
                const double x = a->GetDouble(), y = b->GetDouble();
                if (std::fabs(x - y) > 1e-14 * std::max(std::fabs(x), std::fabs(y))) return false;
            }
        } else if (a->IsArray()) {
            if (a->Size() != b->Size()) return false;
            for (rapidjson::SizeType i = 0; i < a->Size(); ++i) todo.push_back({&(*a)[i], &(*b)[i]});
        } else if (a->IsObject()) {
            if (a->MemberCount() != b->MemberCount()) return false;
            for (auto i = a->MemberBegin(), j = b->MemberBegin(); i != a->MemberEnd(); ++i, ++j) {
                if (std::string_view(i->name.GetString(), i->name.GetStringLength()) !=
                    std::string_view(j->name.GetString(), j->name.GetStringLength()))
                    return false;
                todo.push_back({&i->value, &j->value});
            }
        } else if (a->IsBool() && a->GetBool() != b->GetBool()) {
            return false;
        }
    }
    return true;
}

void check_fields(const JsonValue& obj) {
    for (const char* key : {"host", "token", "expires_at", "error", "a", ""}) {
        auto it = obj.FindMember(key);
        const JsonValue* v = it == obj.MemberEnd() ? nullptr : &it->value;
        try {
            std::string s = json_string(obj, key, kSrc);
            FUZZ_CHECK(v && v->IsString() && s.size() == v->GetStringLength(),
                       "json_string returned a value for a non-string");
        } catch (const Error&) {
            FUZZ_CHECK(!v || !v->IsString(), "json_string refused a string");
        }
        try {
            int64_t n = json_int(obj, key, kSrc);
            FUZZ_CHECK(v && v->IsNumber(), "json_int returned a value for a non-number");
            if (v->IsInt64()) FUZZ_CHECK(n == v->GetInt64(), "json_int changed an integer");
        } catch (const Error&) {
            FUZZ_CHECK(!v || !v->IsInt64(), "json_int refused an int64");
        }
        try {
            auto o = json_opt_object(obj, key, kSrc);
            FUZZ_CHECK(!o || o->IsObject(), "json_opt_object returned a non-object");
        } catch (const Error&) {
            FUZZ_CHECK(v && !v->IsNull() && !v->IsObject(), "json_opt_object refused an object");
        }
        try {
            (void)json_opt_string(obj, key, kSrc);
            (void)json_opt_int(obj, key, kSrc);
        } catch (const Error&) {
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    try {
        rapidjson::Document doc = json_parse(text, kSrc, false);
        const std::string dumped = json_dump(doc);
        rapidjson::Document again;
        try {
            again = json_parse(dumped, kSrc, false);
        } catch (const Error& e) {
            std::fprintf(stderr, "re-parse failed: %s\n", e.what());
            FUZZ_CHECK(false, "json_dump of a parsed document does not parse again");
        }
        FUZZ_CHECK(same_value(doc, again), "a document changed across dump + parse");

        bool object_ok = true;
        try {
            (void)json_parse(text, kSrc, true);
        } catch (const Error&) {
            object_ok = false;
        }
        FUZZ_CHECK(object_ok == doc.IsObject(), "object_required disagrees with the value");
        if (doc.IsObject()) check_fields(doc);
    } catch (const Error&) {
        // not JSON: the expected answer
    }

    // Writers: any valid UTF-8 text must come back as itself.
    if (valid_utf8(text)) {
        const std::string quoted = json_quote(text);
        rapidjson::Document q = json_parse(quoted, kSrc, false);  // must not throw
        FUZZ_CHECK(q.IsString() && std::string_view(q.GetString(), q.GetStringLength()) == text,
                   "json_quote does not read back as its input");

        JsonObjectWriter w;
        w.field("s", text).field("n", static_cast<int64_t>(size)).field("b", size % 2 == 0);
        w.null_field("z");
        const std::string obj = w.str();
        rapidjson::Document o = json_parse(obj, kSrc, true);  // must not throw
        FUZZ_CHECK(json_string(o, "s", kSrc) == text, "JsonObjectWriter changed a string");
        FUZZ_CHECK(json_int(o, "n", kSrc) == static_cast<int64_t>(size),
                   "JsonObjectWriter changed a number");
    }
    return 0;
}
