#include "wire/tokens.h"

#include "util/json.h"

namespace copilot::wire {

namespace {

const JsonSource kRequest{"Messages request", Exit::data};

bool letter(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

int64_t of(const JsonValue& v);

int64_t of_string_member(const JsonValue& obj, const char* key) {
    if (!obj.IsObject()) return 0;
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd() || !it->value.IsString()) return 0;
    return estimate_text_tokens({it->value.GetString(), it->value.GetStringLength()});
}

// Any value as its JSON text (a tool's input, a schema, a block we do not know).
int64_t of_json(const JsonValue& v) { return estimate_text_tokens(json_dump(v)); }

int64_t of_block(const JsonValue& b) {
    if (!b.IsObject()) return of_json(b);
    auto t = b.FindMember("type");
    const std::string_view type =
        t != b.MemberEnd() && t->value.IsString() ? std::string_view(t->value.GetString(), t->value.GetStringLength())
                                                  : std::string_view();
    if (type == "text") return of_string_member(b, "text");
    if (type == "image") return kImageTokens;
    if (type == "thinking") return of_string_member(b, "thinking");
    if (type == "redacted_thinking") return of_string_member(b, "data");
    if (type == "tool_use") {
        auto in = b.FindMember("input");
        return kBlockOverheadTokens + of_string_member(b, "name") +
               (in != b.MemberEnd() ? of_json(in->value) : 0);
    }
    if (type == "tool_result") {
        auto c = b.FindMember("content");
        return kBlockOverheadTokens + (c != b.MemberEnd() ? of(c->value) : 0);
    }
    return kBlockOverheadTokens + of_json(b);
}

// A content: a string or an array of blocks.
int64_t of(const JsonValue& v) {
    if (v.IsString()) return estimate_text_tokens({v.GetString(), v.GetStringLength()});
    if (!v.IsArray()) return v.IsNull() ? 0 : of_json(v);
    int64_t n = 0;
    for (const auto& b : v.GetArray()) n += of_block(b);
    return n;
}

}  // namespace

int64_t estimate_text_tokens(std::string_view text) {
    int64_t quarters = 0;  // quarter tokens, so CJK's 1.25 stays an integer sum
    const size_t n = text.size();
    for (size_t i = 0; i < n;) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (letter(c)) {
            size_t j = i;
            while (j < n && letter(static_cast<unsigned char>(text[j]))) ++j;
            quarters += 4 * static_cast<int64_t>((j - i + 3) / 4);
            i = j;
        } else if (c == ' ') {
            size_t j = i;
            while (j < n && text[j] == ' ') ++j;
            if (j - i > 1) quarters += 4 * static_cast<int64_t>((j - i - 1 + 3) / 4);
            i = j;
        } else if (c < 0x80) {
            quarters += 4;
            ++i;
        } else {
            // The length of a UTF-8 sequence from its lead byte; a stray byte counts as 1.
            const size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            quarters += len == 4 ? 12 : len == 3 ? 5 : 4;
            i += len;
        }
    }
    return (quarters + 3) / 4;
}

int64_t count_tokens(std::string_view messages_body) {
    const auto doc = json_parse(messages_body, kRequest);
    auto msgs = doc.FindMember("messages");
    if (msgs == doc.MemberEnd() || !msgs->value.IsArray())
        throw Error(Exit::data, kRequest.what + ": field 'messages' must be an array");
    int64_t n = 0;
    if (auto sys = doc.FindMember("system"); sys != doc.MemberEnd() && !sys->value.IsNull())
        n += kMessageOverheadTokens + of(sys->value);
    for (const auto& m : msgs->value.GetArray()) {
        n += kMessageOverheadTokens;
        if (!m.IsObject()) continue;
        if (auto c = m.FindMember("content"); c != m.MemberEnd()) n += of(c->value);
    }
    if (auto tools = doc.FindMember("tools");
        tools != doc.MemberEnd() && tools->value.IsArray() && !tools->value.Empty()) {
        n += kToolSystemPromptTokens;
        for (const auto& t : tools->value.GetArray()) {
            n += kBlockOverheadTokens;
            if (!t.IsObject()) continue;
            for (const auto& f : t.GetObject()) {
                const std::string_view key(f.name.GetString(), f.name.GetStringLength());
                if (key == "cache_control" || key == "defer_loading") continue;
                n += f.value.IsString() ? estimate_text_tokens({f.value.GetString(), f.value.GetStringLength()})
                                        : of_json(f.value);
            }
        }
    }
    return n;
}

std::string count_tokens_answer(int64_t tokens) {
    return JsonObjectWriter().field("input_tokens", tokens).str();
}

}  // namespace copilot::wire
