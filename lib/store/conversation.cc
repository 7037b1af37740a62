#include "store/conversation.h"

#include <algorithm>
#include <ctime>

#include "util/json.h"

namespace copilot {

namespace {

const JsonSource kStored{"the conversation database", Exit::data};

// A JSON array's elements, each as compact JSON text.
std::vector<std::string> elements(const std::string& array, const JsonSource& src) {
    rapidjson::Document d = json_parse(array, src, false);
    if (!d.IsArray()) throw Error(src.code, src.what + ": expected a JSON array of messages");
    std::vector<std::string> out;
    for (const auto& m : d.GetArray()) out.push_back(json_dump(m));
    return out;
}

std::string join(const std::vector<std::string>& parts) {
    std::string out = "[";
    for (size_t k = 0; k < parts.size(); ++k) out += (k ? "," : "") + parts[k];
    return out + "]";
}

std::string user_message(const char* role, const std::string& text) {
    return JsonObjectWriter().field("role", role).field("content", text).str();
}

bool is_system(const std::string& message) {
    rapidjson::Document d = json_parse(message, kStored, false);
    if (!d.IsObject()) return false;
    auto r = d.FindMember("role");
    if (r == d.MemberEnd() || !r->value.IsString()) return false;
    const std::string role = r->value.GetString();
    return role == "system" || role == "developer";
}

std::string one_line_title(const std::string& text) {
    std::string line = text.substr(0, text.find('\n'));
    std::string out;
    for (char c : line) {
        const unsigned char u = static_cast<unsigned char>(c);
        out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
    }
    if (out.size() > 80) {
        size_t cut = 77;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xc0) == 0x80) --cut;  // UTF-8
        out = out.substr(0, cut) + "...";
    }
    return out;
}

// The text of a message's content: a string, or the text parts of an array.
std::string content_text(const JsonValue& m) {
    auto c = m.FindMember("content");
    if (c == m.MemberEnd()) return "";
    if (c->value.IsString()) return c->value.GetString();
    std::string out;
    if (!c->value.IsArray()) return out;
    for (const auto& part : c->value.GetArray()) {
        if (!part.IsObject()) continue;
        auto type = part.FindMember("type");
        auto text = part.FindMember("text");
        if (text != part.MemberEnd() && text->value.IsString()) {
            out += (out.empty() ? "" : "\n") + std::string(text->value.GetString());
        } else if (type != part.MemberEnd() && type->value.IsString() &&
                   std::string(type->value.GetString()) == "image_url") {
            out += (out.empty() ? "" : "\n") + std::string("[image]");
        }
    }
    return out;
}

std::vector<std::string> all_messages(const std::vector<ChatTurn>& turns) {
    std::vector<std::string> out;
    for (const auto& t : turns) {
        for (auto& m : elements(t.messages, kStored)) out.push_back(std::move(m));
        out.push_back(t.answer);
    }
    return out;
}

}  // namespace

std::string turn_messages(const ChatRequest& req) {
    std::vector<std::string> out;
    if (req.system) out.push_back(user_message("system", *req.system));
    if (req.messages_json)
        for (auto& m : elements(*req.messages_json, JsonSource{req.messages_what, Exit::data}))
            out.push_back(std::move(m));
    if (req.prompt) out.push_back(user_message("user", *req.prompt));
    return join(out);
}

bool keep_answer(std::string& kept, std::string_view piece) {
    if (kept.size() + piece.size() <= kMaxSavedAnswer) {
        kept.append(piece);
        return true;
    }
    size_t room = kMaxSavedAnswer - std::min(kept.size(), kMaxSavedAnswer);
    while (room > 0 && room < piece.size() && (static_cast<unsigned char>(piece[room]) & 0xc0) == 0x80)
        --room;
    kept.append(piece.substr(0, room));
    return false;
}

std::string answer_message(const ChatResult& result, const std::string& text) {
    JsonObjectWriter w;
    w.field("role", "assistant");
    if (text.empty() && !result.tool_calls.empty())
        w.null_field("content");
    else
        w.field("content", text);
    if (!result.tool_calls.empty()) {
        std::vector<std::string> calls;
        for (const auto& c : result.tool_calls) {
            const std::string fn =
                JsonObjectWriter().field("name", c.name).field("arguments", c.arguments).str();
            calls.push_back(JsonObjectWriter()
                                .field("id", c.id)
                                .field("type", c.type.empty() ? "function" : c.type)
                                .raw_field("function", fn)
                                .str());
        }
        w.raw_field("tool_calls", join(calls));
    }
    return w.str();
}

std::string answer_text(const ChatResult& result) {
    if (result.json.empty()) return "";
    rapidjson::Document d;
    try {
        d = json_parse(result.json, JsonSource{"the answer", Exit::protocol});
    } catch (const Error&) {
        return "";
    }
    auto choices = d.FindMember("choices");
    if (choices != d.MemberEnd() && choices->value.IsArray() && !choices->value.Empty()) {
        const auto& c0 = choices->value[0];
        if (c0.IsObject()) {
            auto m = c0.FindMember("message");
            if (m != c0.MemberEnd() && m->value.IsObject()) return content_text(m->value);
        }
        return "";
    }
    // Responses: the output_text parts of the message items.
    std::string out;
    auto output = d.FindMember("output");
    if (output == d.MemberEnd() || !output->value.IsArray()) return out;
    for (const auto& item : output->value.GetArray()) {
        if (!item.IsObject()) continue;
        auto type = item.FindMember("type");
        if (type == item.MemberEnd() || !type->value.IsString() ||
            std::string(type->value.GetString()) != "message")
            continue;
        auto content = item.FindMember("content");
        if (content == item.MemberEnd() || !content->value.IsArray()) continue;
        for (const auto& part : content->value.GetArray()) {
            if (!part.IsObject()) continue;
            auto text = part.FindMember("text");
            if (text != part.MemberEnd() && text->value.IsString()) out += text->value.GetString();
        }
    }
    return out;
}

std::string conversation_title(const ChatRequest& req) {
    if (req.prompt) return one_line_title(*req.prompt);
    if (req.messages_json) {
        rapidjson::Document d = json_parse(*req.messages_json, kStored, false);
        if (d.IsArray())
            for (const auto& m : d.GetArray()) {
                if (!m.IsObject()) continue;
                auto r = m.FindMember("role");
                if (r != m.MemberEnd() && r->value.IsString() &&
                    std::string(r->value.GetString()) == "user")
                    return one_line_title(content_text(m));
            }
    }
    return "";
}

int64_t estimate_tokens(size_t bytes) { return static_cast<int64_t>((bytes + 3) / 4); }

int64_t prompt_budget(const ModelInfo* model) {
    if (!model) return 0;
    if (model->max_prompt && *model->max_prompt > 0) return *model->max_prompt;
    if (model->context_window && *model->context_window > 0) {
        const int64_t out = model->max_output.value_or(0);
        return *model->context_window > out ? *model->context_window - out : 0;
    }
    return 0;
}

History history_messages(const std::vector<ChatTurn>& turns, int64_t budget, size_t new_bytes) {
    std::vector<std::vector<std::string>> per_turn;
    std::vector<size_t> bytes;
    size_t total = new_bytes;
    for (const auto& t : turns) {
        std::vector<std::string> ms = elements(t.messages, kStored);
        ms.push_back(t.answer);
        size_t b = 0;
        for (const auto& m : ms) b += m.size() + 1;
        per_turn.push_back(std::move(ms));
        bytes.push_back(b);
        total += b;
    }
    History h;
    size_t first = 0;
    std::vector<std::string> kept_system;
    if (budget > 0)
        while (first < per_turn.size() && estimate_tokens(total) > budget) {
            total -= bytes[first];
            for (const auto& m : per_turn[first])
                if (is_system(m)) {
                    kept_system.push_back(m);
                    total += m.size() + 1;
                }
            ++first;
        }
    std::vector<std::string> out = kept_system;
    for (size_t k = first; k < per_turn.size(); ++k)
        for (const auto& m : per_turn[k]) out.push_back(m);
    h.messages = join(out);
    h.turns = per_turn.size() - first;
    h.dropped = first;
    return h;
}

void continue_request(ChatRequest& req, const std::string& history, const std::string& turn) {
    std::vector<std::string> all = elements(history, kStored);
    for (auto& m : elements(turn, kStored)) all.push_back(std::move(m));
    // This turn's prompt is sent by build_*_body as the last user message.
    if (req.prompt && !all.empty()) all.pop_back();
    req.messages_json = join(all);
    req.system.reset();
}

std::string history_text(const std::vector<ChatSummary>& list) {
    std::string out;
    for (const auto& c : list) {
        char when[32] = "?";
        const time_t t = static_cast<time_t>(c.updated);
        struct tm tm;
        if (gmtime_r(&t, &tm)) std::strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
        out += c.id + "\t" + when + "\t" + one_line_title(c.model) + "\t" + one_line_title(c.title) + "\n";
    }
    return out;
}

std::string show_text(const std::vector<ChatTurn>& turns) {
    std::string out;
    for (const auto& raw : all_messages(turns)) {
        rapidjson::Document m = json_parse(raw, kStored, false);
        if (!m.IsObject()) continue;
        auto r = m.FindMember("role");
        const std::string role = r != m.MemberEnd() && r->value.IsString() ? r->value.GetString() : "?";
        std::string text = content_text(m);
        auto calls = m.FindMember("tool_calls");
        if (calls != m.MemberEnd() && calls->value.IsArray())
            for (const auto& c : calls->value.GetArray()) {
                if (!c.IsObject()) continue;
                auto fn = c.FindMember("function");
                if (fn == c.MemberEnd() || !fn->value.IsObject()) continue;
                auto name = fn->value.FindMember("name");
                auto args = fn->value.FindMember("arguments");
                text += (text.empty() ? "" : "\n") + std::string("[tool call ") +
                        (name != fn->value.MemberEnd() && name->value.IsString() ? name->value.GetString() : "?") +
                        " " +
                        (args != fn->value.MemberEnd() && args->value.IsString() ? args->value.GetString() : "") +
                        "]";
            }
        out += role + ":\n" + text;
        if (out.empty() || out.back() != '\n') out += "\n";
        out += "\n";
    }
    return out;
}

std::string show_json(const std::vector<ChatTurn>& turns) { return join(all_messages(turns)); }

}  // namespace copilot
