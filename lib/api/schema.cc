#include "api/schema.h"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <rapidjson/schema.h>

#include "util/errors.h"
#include "util/files.h"
#include "util/json.h"

namespace copilot {

namespace {

constexpr size_t kMaxSchemaDepth = 64;
constexpr size_t kMaxSchemaBytes = 1u << 20;

// The deepest nesting of [ and { in JSON text (strings skipped): checked
// before RapidJSON's SchemaDocument, which walks the schema recursively.
size_t nesting(std::string_view json) {
    size_t depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (char c : json) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > deepest) deepest = depth;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return deepest;
}

}  // namespace

std::string read_schema(const std::string& arg) {
    std::string text = arg, what = "--schema";
    if (!arg.empty() && arg[0] == '@') {
        what = "--schema " + arg;
        auto file = read_file(arg.substr(1), kMaxSchemaBytes);
        if (!file) throw Error(Exit::usage, what + ": no such file");
        text = *file;
    }
    const JsonSource src{what, Exit::data};
    rapidjson::Document d = json_parse(text, src, false);
    if (!d.IsObject()) throw Error(Exit::data, what + ": a JSON Schema must be a JSON object");
    if (nesting(text) > kMaxSchemaDepth)
        throw Error(Exit::data, what + ": nested deeper than " + std::to_string(kMaxSchemaDepth) + " levels");
    return json_dump(d);
}

std::string_view answer_json_text(std::string_view t) {
    auto trim = [](std::string_view s) {
        const char* ws = " \t\r\n";
        const size_t a = s.find_first_not_of(ws);
        if (a == std::string_view::npos) return std::string_view();
        return s.substr(a, s.find_last_not_of(ws) - a + 1);
    };
    t = trim(t);
    if (t.size() >= 6 && t.substr(0, 3) == "```" && t.substr(t.size() - 3) == "```") {
        const size_t nl = t.find('\n');
        if (nl != std::string_view::npos && nl < t.size() - 3) t = trim(t.substr(nl + 1, t.size() - 3 - nl - 1));
    }
    return t;
}

std::string validate_answer(const std::string& schema, std::string_view answer) {
    rapidjson::Document sd_doc;
    sd_doc.Parse(schema.data(), schema.size());
    rapidjson::SchemaDocument sd(sd_doc);
    rapidjson::SchemaValidator v(sd);
    // Parsed iteratively straight into the validator: a deeply nested answer
    // cannot exhaust the stack.
    rapidjson::Reader reader;
    const std::string copy(answer);
    rapidjson::StringStream in(copy.c_str());
    const rapidjson::ParseResult ok = reader.Parse<rapidjson::kParseIterativeFlag>(in, v);
    if (!ok && v.IsValid())
        throw Error(Exit::protocol, std::string("the answer is not JSON (") +
                                        rapidjson::GetParseError_En(ok.Code()) + " at offset " +
                                        std::to_string(ok.Offset()) + "), not what --schema asks for");
    if (!v.IsValid()) {
        rapidjson::StringBuffer where;
        v.GetInvalidDocumentPointer().StringifyUriFragment(where);
        std::string at = where.GetString();
        if (at.size() > 1 && at[0] == '#') at = at.substr(1);
        throw Error(Exit::protocol, "the answer does not match --schema: at " +
                                        (at.empty() || at == "#" ? std::string("the top") : at) +
                                        ": keyword '" + v.GetInvalidSchemaKeyword() + "'");
    }
    // Trailing text after the value is refused by the parse above (kParseStopWhenDoneFlag unset).
    return json_dump(json_parse(copy, JsonSource{"the answer", Exit::protocol}, false));
}

}  // namespace copilot
