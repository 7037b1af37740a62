#include "wire/messages.h"

#include <algorithm>

#include "util/json.h"
#include "util/text.h"
#include "wire/messages_docs.h"

namespace copilot::wire {

namespace {

using namespace mdocs;

const JsonSource kRequest{"Messages request", Exit::data};

std::optional<bool> opt_bool(const JsonValue& obj, const char* key, const std::string& path) {
    const JsonValue* v = member(obj, key);
    if (!v) return std::nullopt;
    if (!v->IsBool()) throw Error(Exit::data, kRequest.what + ": " + path + " must be a boolean");
    return v->GetBool();
}

const JsonValue& array_of(const JsonValue& obj, const char* key, const std::string& path) {
    const JsonValue* v = member(obj, key);
    if (!v) throw Error(Exit::data, kRequest.what + ": " + path + " is missing");
    if (!v->IsArray()) throw Error(Exit::data, kRequest.what + ": " + path + " must be an array");
    return *v;
}

std::string block_type(const JsonValue& block, const std::string& path) {
    if (!block.IsObject()) throw Error(Exit::data, kRequest.what + ": " + path + " must be an object");
    const JsonValue* t = member(block, "type");
    if (!t || !t->IsString())
        throw Error(Exit::data, kRequest.what + ": " + path + ".type must be a string");
    return std::string(sv(*t));
}

std::string required_string(const JsonValue& obj, const char* key, const std::string& path) {
    const JsonValue* v = member(obj, key);
    if (!v || !v->IsString())
        throw Error(Exit::data, kRequest.what + ": " + path + "." + key + " must be a string");
    return std::string(sv(*v));
}

// A subtree copied as it came (json_dump walks any depth without recursion).
void write_raw(Writer& w, const JsonValue& v) {
    const std::string s = json_dump(v);
    w.RawValue(s.data(), s.size(), v.GetType());
}

// The message names the field too, so the client's 400 says where.
Untranslatable untranslatable(const std::string& field, const std::string& message) {
    return Untranslatable(field, field + ": " + message);
}

void note(std::vector<std::string>& dropped, std::string field) {
    if (std::find(dropped.begin(), dropped.end(), field) == dropped.end())
        dropped.push_back(std::move(field));
}

bool is_image(const JsonValue& block) {
    return block.IsObject() && str_or_empty(block, "type") == "image";
}

// --- request ---------------------------------------------------------------

// An image block as a Chat image_url part.
std::string image_part(const JsonValue& block, const std::string& path) {
    const JsonValue* source = member(block, "source");
    if (!source || !source->IsObject())
        throw Error(Exit::data, kRequest.what + ": " + path + ".source must be an object");
    const std::string type = required_string(*source, "type", path + ".source");
    std::string url;
    if (type == "base64") {
        url = "data:" + required_string(*source, "media_type", path + ".source") + ";base64," +
              required_string(*source, "data", path + ".source");
    } else if (type == "url") {
        url = required_string(*source, "url", path + ".source");
    } else {
        throw untranslatable(path + ".source.type",
                             "image source type '" + type + "' has no Chat equivalent");
    }
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("type");
    w.String("image_url");
    w.Key("image_url");
    w.StartObject();
    w.Key("url");
    write_str(w, url);
    w.EndObject();
    w.EndObject();
    return buf.GetString();
}

std::string text_part(std::string_view text) {
    return JsonObjectWriter().field("type", "text").field("text", text).str();
}

// Text joined from `parts` (each a Chat part), or the parts as an array when
// any is an image: text-only content stays a string, which every model takes.
void write_user_content(Writer& w, const std::vector<std::string>& parts,
                        const std::vector<std::string>& texts, bool images) {
    if (!images) {
        std::string joined;
        for (const auto& t : texts) {
            if (!joined.empty()) joined += "\n\n";
            joined += t;
        }
        write_str(w, joined);
        return;
    }
    w.StartArray();
    for (const auto& p : parts) w.RawValue(p.data(), p.size(), rapidjson::kObjectType);
    w.EndArray();
}

struct Translator {
    const ChatOptions& options;
    std::vector<std::string>& dropped;

    // The top-level `system`, or (at `where`) a system turn inside `messages`,
    // which Claude Code sends mid-conversation: a Chat system message in place.
    void system(Writer& w, const JsonValue& sys, const std::string& where = "system") {
        std::string text;
        if (sys.IsString()) {
            text = std::string(sv(sys));
        } else if (sys.IsArray()) {
            for (rapidjson::SizeType i = 0; i < sys.Size(); ++i) {
                const std::string path = where + "[" + std::to_string(i) + "]";
                const std::string type = block_type(sys[i], path);
                if (type != "text")
                    throw untranslatable(path + ".type", "system block type '" + type +
                                                             "' has no Chat equivalent");
                if (member(sys[i], "cache_control")) note(dropped, "system[].cache_control");
                if (!text.empty()) text += "\n\n";
                text += required_string(sys[i], "text", path);
            }
        } else {
            throw Error(Exit::data, kRequest.what + ": " + where + " must be a string or an array");
        }
        w.StartObject();
        w.Key("role");
        w.String("system");
        w.Key("content");
        write_str(w, text);
        w.EndObject();
    }

    void simple(Writer& w, const char* role, std::string_view content) {
        w.StartObject();
        w.Key("role");
        w.String(role);
        w.Key("content");
        write_str(w, content);
        w.EndObject();
    }

    // A tool_result's content: its text, and its images moved to `parts`.
    std::string tool_result_text(const JsonValue& block, const std::string& path,
                                 std::vector<std::string>& parts, bool& images) {
        std::string text;
        const JsonValue* content = member(block, "content");
        if (!content) {
        } else if (content->IsString()) {
            text = std::string(sv(*content));
        } else if (content->IsArray()) {
            for (rapidjson::SizeType k = 0; k < content->Size(); ++k) {
                const std::string p = path + ".content[" + std::to_string(k) + "]";
                const std::string type = block_type((*content)[k], p);
                if (member((*content)[k], "cache_control"))
                    note(dropped, "messages[].content[].cache_control");
                if (type == "text") {
                    if (!text.empty()) text += "\n\n";
                    text += required_string((*content)[k], "text", p);
                } else if (type == "image") {
                    parts.push_back(image_part((*content)[k], p));
                    images = true;
                } else {
                    throw untranslatable(p + ".type", "tool_result block type '" + type +
                                                          "' has no Chat equivalent");
                }
            }
        } else {
            throw Error(Exit::data, kRequest.what + ": " + path + ".content must be a string or an array");
        }
        if (opt_bool(block, "is_error", path + ".is_error").value_or(false)) text = "Error: " + text;
        return text;
    }

    void user(Writer& w, const JsonValue& content, const std::string& mpath) {
        std::vector<std::string> parts, texts;
        bool images = false, any_other = false;
        for (rapidjson::SizeType j = 0; j < content.Size(); ++j) {
            const std::string path = mpath + ".content[" + std::to_string(j) + "]";
            const JsonValue& block = content[j];
            const std::string type = block_type(block, path);
            if (member(block, "cache_control")) note(dropped, "messages[].content[].cache_control");
            if (type == "text") {
                std::string t = required_string(block, "text", path);
                parts.push_back(text_part(t));
                texts.push_back(std::move(t));
                any_other = true;
            } else if (type == "image") {
                parts.push_back(image_part(block, path));
                images = any_other = true;
            } else if (type == "tool_result") {
                const std::string id = required_string(block, "tool_use_id", path);
                std::vector<std::string> moved;
                bool moved_images = false;
                const std::string text = tool_result_text(block, path, moved, moved_images);
                w.StartObject();
                w.Key("role");
                w.String("tool");
                w.Key("tool_call_id");
                write_str(w, id);
                w.Key("content");
                write_str(w, text);
                w.EndObject();
                for (auto& p : moved) parts.push_back(std::move(p));
                if (moved_images) images = any_other = true;
            } else {
                throw untranslatable(path + ".type",
                                     "content block type '" + type + "' has no Chat equivalent");
            }
        }
        if (!any_other && !content.Empty()) return;  // only tool results
        w.StartObject();
        w.Key("role");
        w.String("user");
        w.Key("content");
        write_user_content(w, parts, texts, images);
        w.EndObject();
    }

    void assistant(Writer& w, const JsonValue& content, const std::string& mpath) {
        std::string text;
        rapidjson::StringBuffer calls_buf;
        Writer calls(calls_buf);
        calls.StartArray();
        int ncalls = 0;
        for (rapidjson::SizeType j = 0; j < content.Size(); ++j) {
            const std::string path = mpath + ".content[" + std::to_string(j) + "]";
            const JsonValue& block = content[j];
            const std::string type = block_type(block, path);
            if (member(block, "cache_control")) note(dropped, "messages[].content[].cache_control");
            if (type == "text") {
                text += required_string(block, "text", path);
            } else if (type == "tool_use") {
                const JsonValue* input = member(block, "input");
                calls.StartObject();
                calls.Key("id");
                write_str(calls, required_string(block, "id", path));
                calls.Key("type");
                calls.String("function");
                calls.Key("function");
                calls.StartObject();
                calls.Key("name");
                write_str(calls, required_string(block, "name", path));
                calls.Key("arguments");
                write_str(calls, input ? json_dump(*input) : std::string("{}"));
                calls.EndObject();
                calls.EndObject();
                ++ncalls;
            } else if (type == "thinking" || type == "redacted_thinking") {
                note(dropped, "messages[].content[" + type + "]");
            } else {
                throw untranslatable(path + ".type",
                                     "content block type '" + type + "' has no Chat equivalent");
            }
        }
        calls.EndArray();
        // Only thinking blocks: nothing Chat can carry, and an empty turn may be refused.
        if (text.empty() && ncalls == 0 && !content.Empty()) return;
        w.StartObject();
        w.Key("role");
        w.String("assistant");
        w.Key("content");
        if (text.empty() && ncalls > 0) w.Null();
        else write_str(w, text);
        if (ncalls > 0) {
            w.Key("tool_calls");
            w.RawValue(calls_buf.GetString(), calls_buf.GetSize(), rapidjson::kArrayType);
        }
        w.EndObject();
    }

    void messages(Writer& w, const JsonValue& doc) {
        const JsonValue& msgs = array_of(doc, "messages", "messages");
        w.Key("messages");
        w.StartArray();
        if (const JsonValue* sys = member(doc, "system")) system(w, *sys);
        for (rapidjson::SizeType i = 0; i < msgs.Size(); ++i) {
            const std::string path = "messages[" + std::to_string(i) + "]";
            const JsonValue& m = msgs[i];
            if (!m.IsObject()) throw Error(Exit::data, kRequest.what + ": " + path + " must be an object");
            const std::string role = required_string(m, "role", path);
            const JsonValue* content = member(m, "content");
            if (role == "system" && content) {
                system(w, *content, path + ".content");
                continue;
            }
            if (role != "user" && role != "assistant")
                throw Error(Exit::data, kRequest.what + ": " + path +
                                            ".role must be \"user\", \"assistant\" or \"system\"");
            if (content && content->IsString()) {
                simple(w, role.c_str(), sv(*content));
            } else if (content && content->IsArray()) {
                if (role == "user") user(w, *content, path);
                else assistant(w, *content, path);
            } else {
                throw Error(Exit::data, kRequest.what + ": " + path +
                                            ".content must be a string or an array");
            }
        }
        w.EndArray();
    }

    void tools(Writer& w, const JsonValue& list) {
        if (!list.IsArray()) throw Error(Exit::data, kRequest.what + ": tools must be an array");
        w.Key("tools");
        w.StartArray();
        for (rapidjson::SizeType k = 0; k < list.Size(); ++k) {
            const std::string path = "tools[" + std::to_string(k) + "]";
            const JsonValue& t = list[k];
            if (!t.IsObject()) throw Error(Exit::data, kRequest.what + ": " + path + " must be an object");
            if (const JsonValue* type = member(t, "type")) {
                const std::string ty = type->IsString() ? std::string(sv(*type)) : "?";
                if (ty != "custom")
                    throw untranslatable(path + ".type", "tool type '" + ty +
                                                             "' (a server tool) has no Chat equivalent");
            }
            w.StartObject();
            w.Key("type");
            w.String("function");
            w.Key("function");
            w.StartObject();
            w.Key("name");
            write_str(w, required_string(t, "name", path));
            if (const JsonValue* d = member(t, "description"); d && d->IsString()) {
                w.Key("description");
                write_str(w, sv(*d));
            }
            w.Key("parameters");
            if (const JsonValue* s = member(t, "input_schema"); s && s->IsObject()) write_raw(w, *s);
            else w.RawValue("{\"type\":\"object\",\"properties\":{}}", 33, rapidjson::kObjectType);
            w.EndObject();
            w.EndObject();
            for (const auto& m : t.GetObject()) {
                const std::string_view name = sv(m.name);
                if (name != "type" && name != "name" && name != "description" &&
                    name != "input_schema")
                    note(dropped, "tools[]." + std::string(name));
            }
        }
        w.EndArray();
    }

    void tool_choice(Writer& w, const JsonValue& doc) {
        const JsonValue* tc = member(doc, "tool_choice");
        if (!tc) return;
        if (!tc->IsObject()) throw Error(Exit::data, kRequest.what + ": tool_choice must be an object");
        const std::string type = required_string(*tc, "type", "tool_choice");
        w.Key("tool_choice");
        if (type == "auto") w.String("auto");
        else if (type == "any") w.String("required");
        else if (type == "none") w.String("none");
        else if (type == "tool") {
            w.StartObject();
            w.Key("type");
            w.String("function");
            w.Key("function");
            w.StartObject();
            w.Key("name");
            write_str(w, required_string(*tc, "name", "tool_choice"));
            w.EndObject();
            w.EndObject();
        } else {
            throw Error(Exit::data, kRequest.what + ": tool_choice.type '" + type +
                                        "' is not auto, any, tool or none");
        }
        if (opt_bool(*tc, "disable_parallel_tool_use", "tool_choice.disable_parallel_tool_use")
                .value_or(false)) {
            w.Key("parallel_tool_calls");
            w.Bool(false);
        }
    }

    // thinking (or output_config.effort) -> reasoning_effort, when the model takes it.
    void reasoning(Writer& w, const JsonValue& doc) {
        std::string effort;
        if (const JsonValue* th = member(doc, "thinking")) {
            const std::string type = th->IsObject() ? std::string(str_or_empty(*th, "type")) : "";
            if (type == "enabled") {
                const int64_t budget = int_or_zero(*th, "budget_tokens");
                effort = budget < 4096 ? "low" : budget < 16384 ? "medium" : "high";
            } else if (type == "adaptive") {
                effort = "medium";
            } else if (type != "disabled") {
                throw Error(Exit::data, kRequest.what + ": thinking.type must be enabled, adaptive or disabled");
            }
            if (!effort.empty() && !options.reasoning) note(dropped, "thinking");
        }
        if (const JsonValue* oc = member(doc, "output_config")) {
            const std::string_view e = oc->IsObject() ? str_or_empty(*oc, "effort") : "";
            if ((e == "low" || e == "medium" || e == "high") && options.reasoning && effort.empty())
                effort = std::string(e);
            if (!oc->IsObject()) throw Error(Exit::data, kRequest.what + ": output_config must be an object");
            for (const auto& m : oc->GetObject())
                if (!(options.reasoning && sv(m.name) == "effort"))
                    note(dropped, "output_config." + std::string(sv(m.name)));
        }
        if (effort.empty() || !options.reasoning) return;
        w.Key("reasoning_effort");
        write_str(w, effort);
    }
};

// Top-level fields the translation reads; the rest are dropped by name.
constexpr const char* kHandled[] = {"model", "messages", "system", "tools", "tool_choice",
                                    "max_tokens", "stop_sequences", "temperature", "top_p",
                                    "metadata", "stream", "thinking", "output_config"};

}  // namespace

RequestFacts messages_facts(std::string_view body) {
    return messages_facts(json_parse(body, kRequest));
}

RequestFacts messages_facts(const JsonValue& doc) {
    RequestFacts f;
    f.model = json_string(doc, "model", kRequest);
    f.stream = opt_bool(doc, "stream", "stream").value_or(false);
    const JsonValue& msgs = array_of(doc, "messages", "messages");
    // The last turn decides the initiator; a system turn never does.
    for (rapidjson::SizeType i = msgs.Size(); i-- > 0;) {
        const JsonValue& m = msgs[i];
        const std::string_view role = str_or_empty(m, "role");
        if (role == "system") continue;
        if (role == "assistant") {
            f.agent = true;
        } else if (role == "user") {
            const JsonValue* c = member(m, "content");
            if (c && c->IsArray() && !c->Empty()) {
                f.agent = std::all_of(c->Begin(), c->End(), [](const JsonValue& b) {
                    return b.IsObject() && str_or_empty(b, "type") == "tool_result";
                });
            }
        }
        break;
    }
    for (const auto& m : msgs.GetArray()) {
        const JsonValue* c = member(m, "content");
        if (!c || !c->IsArray()) continue;
        for (const auto& b : c->GetArray()) {
            if (is_image(b)) f.vision = true;
            if (b.IsObject() && str_or_empty(b, "type") == "tool_result")
                if (const JsonValue* rc = member(b, "content"); rc && rc->IsArray())
                    f.vision = f.vision || std::any_of(rc->Begin(), rc->End(), is_image);
        }
    }
    return f;
}

ChatRequest messages_to_chat_request(std::string_view body, const ChatOptions& options) {
    const auto doc = json_parse(body, kRequest);
    ChatRequest out;
    Translator t{options, out.dropped};
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("model");
    write_str(w, json_string(doc, "model", kRequest));
    t.messages(w, doc);
    if (auto max = json_opt_int(doc, "max_tokens", kRequest)) {
        w.Key("max_tokens");
        w.Int64(*max);
    }
    if (const JsonValue* stop = member(doc, "stop_sequences")) {
        if (!stop->IsArray() || !std::all_of(stop->Begin(), stop->End(),
                                             [](const JsonValue& s) { return s.IsString(); }))
            throw Error(Exit::data, kRequest.what + ": stop_sequences must be an array of strings");
        if (!stop->Empty()) {
            w.Key("stop");
            write_raw(w, *stop);
        }
    }
    for (const char* key : {"temperature", "top_p"}) {
        if (const JsonValue* v = member(doc, key)) {
            if (!v->IsNumber())
                throw Error(Exit::data, kRequest.what + ": " + key + " must be a number");
            w.Key(key);
            write_raw(w, *v);
        }
    }
    if (const JsonValue* meta = member(doc, "metadata"); meta && meta->IsObject()) {
        for (const auto& m : meta->GetObject()) {
            if (sv(m.name) == "user_id" && m.value.IsString()) {
                w.Key("user");
                write_str(w, sv(m.value));
            } else if (!m.value.IsNull()) {
                note(out.dropped, "metadata." + std::string(sv(m.name)));
            }
        }
    }
    if (const JsonValue* tools = member(doc, "tools")) t.tools(w, *tools);
    t.tool_choice(w, doc);
    t.reasoning(w, doc);
    if (opt_bool(doc, "stream", "stream").value_or(false)) {
        w.Key("stream");
        w.Bool(true);
        w.Key("stream_options");
        w.StartObject();
        w.Key("include_usage");
        w.Bool(true);
        w.EndObject();
    }
    w.EndObject();
    for (const auto& m : doc.GetObject()) {
        const std::string_view name = sv(m.name);
        if (std::none_of(std::begin(kHandled), std::end(kHandled),
                         [&](const char* h) { return name == h; }))
            note(out.dropped, std::string(name));
    }
    out.body.assign(buf.GetString(), buf.GetSize());
    return out;
}

const std::vector<DroppableField>& messages_droppable_fields() {
    static const std::vector<DroppableField> fields = {
        {"top_k", "always: Chat has no top_k"},
        {"thinking", "when the model does not reason (otherwise it becomes reasoning_effort)"},
        {"messages[].content[thinking]", "always: Chat has no thinking blocks"},
        {"messages[].content[redacted_thinking]", "always"},
        {"system[].cache_control", "always: Copilot caches by itself"},
        {"messages[].content[].cache_control", "always"},
        {"tools[].cache_control", "always"},
        {"tools[].defer_loading", "always: every tool is sent"},
        {"tools[].NAME", "any other tool field (strict, input_examples, ...)"},
        {"output_config.NAME", "every field but effort, which becomes reasoning_effort when the model reasons"},
        {"metadata.NAME", "every field but user_id, which becomes user"},
        {"context_management", "always"},
        {"service_tier", "always"},
        {"container", "always"},
        {"mcp_servers", "always"},
        {"NAME", "any other top-level field"},
    };
    return fields;
}

}  // namespace copilot::wire
