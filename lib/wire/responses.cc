#include "wire/responses.h"

#include <ctime>
#include <initializer_list>
#include <map>
#include <random>
#include <vector>

#include "util/json.h"

namespace copilot::wire {

namespace {

using rapidjson::Document;
using rapidjson::kArrayType;
using rapidjson::kObjectType;
using rapidjson::Value;
using Alloc = rapidjson::Document::AllocatorType;

const JsonSource kRequest{"request body", Exit::data};
const JsonSource kAnswer{"upstream answer", Exit::protocol};
const JsonSource kEvent{"upstream stream event", Exit::protocol};

// ---- reading ---------------------------------------------------------------

// A member that is present and not null, or nullptr.
const Value* get(const Value& obj, const char* key) {
    if (!obj.IsObject()) return nullptr;
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd() || it->value.IsNull()) return nullptr;
    return &it->value;
}

std::string_view sv(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

[[noreturn]] void malformed(const JsonSource& src, const std::string& field, const char* problem) {
    throw Error(src.code, src.what + ": field '" + field + "' " + problem);
}

[[noreturn]] void untranslatable(const std::string& field, const std::string& why) {
    throw Untranslatable(field, "field '" + field + "' " + why);
}

std::string str_at(const Value& obj, const char* key, const JsonSource& src,
                   const std::string& where) {
    const Value* v = get(obj, key);
    if (!v) return "";
    if (!v->IsString()) malformed(src, where.empty() ? key : where + "." + key, "must be a string");
    return std::string(sv(*v));
}

const Value* array_at(const Value& obj, const char* key, const JsonSource& src,
                      const std::string& where) {
    const Value* v = get(obj, key);
    if (v && !v->IsArray()) malformed(src, where.empty() ? key : where + "." + key, "must be an array");
    return v;
}

int64_t int_at(const Value& obj, const char* key) {
    const Value* v = get(obj, key);
    return v && v->IsInt64() ? v->GetInt64() : 0;
}

std::string idx(const std::string& base, rapidjson::SizeType i) {
    return base + "[" + std::to_string(i) + "]";
}

// ---- writing ---------------------------------------------------------------

Value S(std::string_view s, Alloc& a) {
    return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

void put(Value& obj, const char* key, Value v, Alloc& a) {
    obj.AddMember(Value(key, a), v, a);
}
void put(Value& obj, const char* key, std::string_view s, Alloc& a) { put(obj, key, S(s, a), a); }
void put(Value& obj, const char* key, const char* s, Alloc& a) {
    put(obj, key, S(std::string_view(s), a), a);
}
void put_copy(Value& obj, const char* key, const Value& v, Alloc& a) {
    put(obj, key, Value(v, a), a);
}

Value obj() { return Value(kObjectType); }
Value arr() { return Value(kArrayType); }

std::string random_hex(size_t n) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static const char digits[] = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) s.push_back(digits[rng() % 16]);
    return s;
}

std::string make_id(const Context& ctx, const char* prefix) {
    return ctx.id.empty() ? prefix + random_hex(24) : ctx.id;
}

int64_t created_of(const Context& ctx) {
    return ctx.created ? ctx.created : static_cast<int64_t>(std::time(nullptr));
}

// The part of an id after its prefix ("resp_ab12" -> "ab12"), to name items.
std::string id_tail(const std::string& id) {
    const size_t u = id.find_first_of("_-");
    return u == std::string::npos ? id : id.substr(u + 1);
}

// An output item's id: its kind, the response's id, its output index.
std::string item_id(const char* prefix, const std::string& tail, size_t index) {
    return prefix + tail + "_" + std::to_string(index);
}

// ---- request facts ---------------------------------------------------------

bool is_instruction_role(std::string_view role) { return role == "system" || role == "developer"; }

bool parts_have(const Value* content, std::string_view type) {
    if (!content || !content->IsArray()) return false;
    for (const auto& p : content->GetArray()) {
        const Value* t = get(p, "type");
        if (t && t->IsString() && sv(*t) == type) return true;
    }
    return false;
}

RequestFacts base_facts(const Value& d) {
    RequestFacts f;
    f.model = str_at(d, "model", kRequest, "");
    if (const Value* s = get(d, "stream")) {
        if (!s->IsBool()) malformed(kRequest, "stream", "must be a boolean");
        f.stream = s->GetBool();
    }
    return f;
}

// ---- tool and format shapes shared by both request directions -------------

const char* const kToolChoiceModes[] = {"auto", "none", "required"};

bool is_tool_choice_mode(std::string_view s) {
    for (const char* m : kToolChoiceModes)
        if (s == m) return true;
    return false;
}

// Text of a content that is a string or text parts (tool results, system
// messages); `text_types` are the part types that count as text.
std::string text_of(const Value& content, const std::string& field,
                    std::initializer_list<std::string_view> text_types) {
    if (content.IsString()) return std::string(sv(content));
    if (!content.IsArray()) malformed(kRequest, field, "must be a string or an array");
    std::string out;
    for (rapidjson::SizeType i = 0; i < content.Size(); ++i) {
        const Value& p = content[i];
        const std::string t = str_at(p, "type", kRequest, idx(field, i));
        bool ok = false;
        for (auto tt : text_types) ok = ok || t == tt;
        if (!ok) untranslatable(idx(field, i) + ".type", "'" + t + "' cannot be carried here");
        out += str_at(p, "text", kRequest, idx(field, i));
    }
    return out;
}

}  // namespace

RequestFacts chat_facts(std::string_view body) {
    const Document d = json_parse(body, kRequest);
    RequestFacts f = base_facts(d);
    const Value* msgs = array_at(d, "messages", kRequest, "");
    if (!msgs) return f;
    for (const auto& m : msgs->GetArray()) {
        if (parts_have(get(m, "content"), "image_url")) f.vision = true;
        const Value* role = get(m, "role");
        if (!role || !role->IsString() || is_instruction_role(sv(*role))) continue;
        f.agent = sv(*role) != "user";
    }
    return f;
}

RequestFacts responses_facts(std::string_view body) {
    const Document d = json_parse(body, kRequest);
    RequestFacts f = base_facts(d);
    const Value* input = get(d, "input");
    if (!input || !input->IsArray()) return f;  // a string is the user's own turn
    for (const auto& item : input->GetArray()) {
        const Value* content = get(item, "content");
        const Value* output = get(item, "output");
        if (parts_have(content, "input_image") || parts_have(output, "input_image")) f.vision = true;
        const Value* type = get(item, "type");
        const Value* role = get(item, "role");
        const bool message = (!type && role) || (type && type->IsString() && sv(*type) == "message");
        if (message) {
            if (!role || !role->IsString() || is_instruction_role(sv(*role))) continue;
            f.agent = sv(*role) != "user";
        } else {
            f.agent = true;  // function_call_output, function_call, reasoning, ...
        }
    }
    return f;
}

bool chat_include_usage(std::string_view body) {
    const Document d = json_parse(body, kRequest);
    const Value* so = get(d, "stream_options");
    const Value* iu = so ? get(*so, "include_usage") : nullptr;
    return iu && iu->IsBool() && iu->GetBool();
}

// ---- Responses request -> Chat request --------------------------------------

namespace {

// A Responses message item's content as Chat content.
Value chat_content(const Value& content, const std::string& field, bool images_ok, Alloc& a) {
    if (content.IsString()) return S(sv(content), a);
    if (!content.IsArray()) malformed(kRequest, field, "must be a string or an array");
    Value parts = arr();
    bool all_text = true;
    for (rapidjson::SizeType i = 0; i < content.Size(); ++i) {
        const Value& p = content[i];
        const std::string at = idx(field, i);
        const std::string t = str_at(p, "type", kRequest, at);
        Value q = obj();
        if (t == "input_text" || t == "output_text" || t == "text") {
            put(q, "type", "text", a);
            put(q, "text", str_at(p, "text", kRequest, at), a);
        } else if (t == "refusal") {
            put(q, "type", "text", a);
            put(q, "text", str_at(p, "refusal", kRequest, at), a);
        } else if (t == "input_image") {
            if (!images_ok) untranslatable(at + ".type", "'input_image' only in a user message");
            const std::string url = str_at(p, "image_url", kRequest, at);
            if (url.empty()) {
                if (get(p, "file_id"))
                    untranslatable(at + ".file_id", "needs the Files API, which Chat lacks");
                malformed(kRequest, at + ".image_url", "is missing");
            }
            Value iu = obj();
            put(iu, "url", url, a);
            const std::string detail = str_at(p, "detail", kRequest, at);
            if (!detail.empty()) put(iu, "detail", detail, a);
            put(q, "type", "image_url", a);
            put(q, "image_url", std::move(iu), a);
            all_text = false;
        } else {
            untranslatable(at + ".type", "'" + t + "' has no Chat equivalent");
        }
        parts.PushBack(std::move(q), a);
    }
    // One text part is a plain string: every Chat model takes that.
    if (all_text && parts.Size() == 1) return Value(parts[0]["text"], a);
    return parts;
}

Value chat_tool(const Value& t, const std::string& at, Alloc& a) {
    const std::string type = str_at(t, "type", kRequest, at);
    if (type != "function") untranslatable(at + ".type", "'" + type + "' is a hosted tool Chat lacks");
    Value fn = obj();
    put(fn, "name", str_at(t, "name", kRequest, at), a);
    for (const char* k : {"description", "parameters", "strict"})
        if (const Value* v = get(t, k)) put_copy(fn, k, *v, a);
    Value out = obj();
    put(out, "type", "function", a);
    put(out, "function", std::move(fn), a);
    return out;
}

}  // namespace

std::string responses_request_to_chat(std::string_view body, const RequestOptions& opt) {
    const Document d = json_parse(body, kRequest);
    Document out(kObjectType);
    Alloc& a = out.GetAllocator();
    Value messages = arr();

    if (const Value* ins = get(d, "instructions")) {
        Value m = obj();
        put(m, "role", "system", a);
        put(m, "content", S(text_of(*ins, "instructions", {"input_text"}), a), a);
        messages.PushBack(std::move(m), a);
    }
    // The assistant message the next function_call joins, or -1: Chat carries
    // a turn's text and its calls in one message.
    int open_assistant = -1;
    if (const Value* input = get(d, "input")) {
        if (input->IsString()) {
            Value m = obj();
            put(m, "role", "user", a);
            put(m, "content", S(sv(*input), a), a);
            messages.PushBack(std::move(m), a);
        } else if (!input->IsArray()) {
            malformed(kRequest, "input", "must be a string or an array");
        } else {
            for (rapidjson::SizeType i = 0; i < input->Size(); ++i) {
                const Value& item = (*input)[i];
                const std::string at = idx("input", i);
                if (!item.IsObject()) malformed(kRequest, at, "must be an object");
                std::string type = str_at(item, "type", kRequest, at);
                if (type.empty() && get(item, "role")) type = "message";
                if (type == "message") {
                    std::string role = str_at(item, "role", kRequest, at);
                    if (role != "user" && role != "assistant" && !is_instruction_role(role))
                        untranslatable(at + ".role", "'" + role + "' has no Chat equivalent");
                    // Chat models on Copilot know "system"; "developer" means the same.
                    if (role == "developer") role = "system";
                    const Value* content = get(item, "content");
                    if (!content) malformed(kRequest, at + ".content", "is missing");
                    Value m = obj();
                    put(m, "role", role, a);
                    put(m, "content", chat_content(*content, at + ".content", role == "user", a), a);
                    messages.PushBack(std::move(m), a);
                    open_assistant = role == "assistant" ? int(messages.Size()) - 1 : -1;
                } else if (type == "function_call") {
                    Value call = obj();
                    put(call, "id", str_at(item, "call_id", kRequest, at), a);
                    put(call, "type", "function", a);
                    Value fn = obj();
                    put(fn, "name", str_at(item, "name", kRequest, at), a);
                    put(fn, "arguments", str_at(item, "arguments", kRequest, at), a);
                    put(call, "function", std::move(fn), a);
                    if (open_assistant < 0) {
                        Value m = obj();
                        put(m, "role", "assistant", a);
                        put(m, "content", Value(), a);
                        messages.PushBack(std::move(m), a);
                        open_assistant = int(messages.Size()) - 1;
                    }
                    Value& m = messages[rapidjson::SizeType(open_assistant)];
                    if (!m.HasMember("tool_calls")) put(m, "tool_calls", arr(), a);
                    m["tool_calls"].PushBack(std::move(call), a);
                } else if (type == "function_call_output") {
                    const Value* output = get(item, "output");
                    if (!output) malformed(kRequest, at + ".output", "is missing");
                    Value m = obj();
                    put(m, "role", "tool", a);
                    put(m, "tool_call_id", str_at(item, "call_id", kRequest, at), a);
                    put(m, "content", S(text_of(*output, at + ".output", {"input_text", "output_text"}), a), a);
                    messages.PushBack(std::move(m), a);
                    open_assistant = -1;
                } else if (type == "reasoning") {
                    // An earlier turn's reasoning: Chat has no place for it, and the
                    // model reasons afresh (see the header's list of drops).
                } else {
                    untranslatable(at + ".type", "'" + type + "' has no Chat equivalent");
                }
            }
        }
    }

    Value rest = obj();
    for (auto& m : d.GetObject()) {
        const std::string k(sv(m.name));
        const Value& v = m.value;
        if (k == "model" || k == "input" || k == "instructions") continue;
        if (k == "store" || k == "service_tier" || k == "truncation" || k == "include" ||
            k == "metadata" || k == "prompt_cache_key" || k == "safety_identifier" ||
            k == "stream_options")
            continue;
        if (v.IsNull()) continue;
        if (k == "temperature" || k == "top_p" || k == "parallel_tool_calls" || k == "user") {
            put_copy(rest, k.c_str(), v, a);
        } else if (k == "max_output_tokens") {
            put_copy(rest, "max_tokens", v, a);
        } else if (k == "stream") {
            put_copy(rest, "stream", v, a);
            if (v.IsBool() && v.GetBool()) {
                Value so = obj();
                put(so, "include_usage", Value(true), a);
                put(rest, "stream_options", std::move(so), a);
            }
        } else if (k == "tools") {
            if (!v.IsArray()) malformed(kRequest, "tools", "must be an array");
            Value tools = arr();
            for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
                tools.PushBack(chat_tool(v[i], idx("tools", i), a), a);
            put(rest, "tools", std::move(tools), a);
        } else if (k == "tool_choice") {
            if (v.IsString()) {
                if (!is_tool_choice_mode(sv(v))) untranslatable("tool_choice", "'" + std::string(sv(v)) + "' is unknown");
                put_copy(rest, "tool_choice", v, a);
            } else {
                const std::string t = str_at(v, "type", kRequest, "tool_choice");
                if (t != "function") untranslatable("tool_choice.type", "'" + t + "' has no Chat equivalent");
                Value fn = obj();
                put(fn, "name", str_at(v, "name", kRequest, "tool_choice"), a);
                Value tc = obj();
                put(tc, "type", "function", a);
                put(tc, "function", std::move(fn), a);
                put(rest, "tool_choice", std::move(tc), a);
            }
        } else if (k == "reasoning") {
            const std::string effort = str_at(v, "effort", kRequest, "reasoning");
            if (opt.keep_reasoning && !effort.empty()) put(rest, "reasoning_effort", effort, a);
        } else if (k == "text") {
            if (const Value* f = get(v, "format")) {
                const std::string t = str_at(*f, "type", kRequest, "text.format");
                if (t == "json_schema") {
                    Value js = obj();
                    for (const char* kk : {"name", "description", "schema", "strict"})
                        if (const Value* x = get(*f, kk)) put_copy(js, kk, *x, a);
                    Value rf = obj();
                    put(rf, "type", "json_schema", a);
                    put(rf, "json_schema", std::move(js), a);
                    put(rest, "response_format", std::move(rf), a);
                } else if (t == "json_object") {
                    Value rf = obj();
                    put(rf, "type", "json_object", a);
                    put(rest, "response_format", std::move(rf), a);
                } else if (t != "text") {
                    untranslatable("text.format.type", "'" + t + "' has no Chat equivalent");
                }
            }
            if (const Value* verb = get(v, "verbosity")) put_copy(rest, "verbosity", *verb, a);
        } else if (k == "background") {
            if (!v.IsBool() || v.GetBool()) untranslatable("background", "needs server state Chat lacks");
        } else if (k == "previous_response_id" || k == "conversation" || k == "prompt") {
            untranslatable(k, "needs server state Chat lacks");
        } else {
            untranslatable(k, "has no Chat equivalent");
        }
    }

    if (const Value* model = get(d, "model")) put_copy(out, "model", *model, a);
    put(out, "messages", std::move(messages), a);
    for (auto& m : rest.GetObject()) out.AddMember(m.name, m.value, a);
    return json_dump(out);
}

// ---- Chat request -> Responses request --------------------------------------

namespace {

Value responses_parts(const Value& content, const std::string& field, bool assistant, Alloc& a) {
    Value parts = arr();
    auto text_part = [&](std::string_view text) {
        Value q = obj();
        put(q, "type", assistant ? "output_text" : "input_text", a);
        put(q, "text", text, a);
        if (assistant) put(q, "annotations", arr(), a);
        parts.PushBack(std::move(q), a);
    };
    if (content.IsString()) {
        text_part(sv(content));
        return parts;
    }
    if (!content.IsArray()) malformed(kRequest, field, "must be a string or an array");
    for (rapidjson::SizeType i = 0; i < content.Size(); ++i) {
        const Value& p = content[i];
        const std::string at = idx(field, i);
        const std::string t = str_at(p, "type", kRequest, at);
        if (t == "text") {
            text_part(str_at(p, "text", kRequest, at));
        } else if (t == "refusal" && assistant) {
            Value q = obj();
            put(q, "type", "refusal", a);
            put(q, "refusal", str_at(p, "refusal", kRequest, at), a);
            parts.PushBack(std::move(q), a);
        } else if (t == "image_url" && !assistant) {
            const Value* iu = get(p, "image_url");
            if (!iu) malformed(kRequest, at + ".image_url", "is missing");
            Value q = obj();
            put(q, "type", "input_image", a);
            if (iu->IsString()) {
                put(q, "image_url", S(sv(*iu), a), a);
                put(q, "detail", "auto", a);
            } else {
                put(q, "image_url", str_at(*iu, "url", kRequest, at + ".image_url"), a);
                const std::string detail = str_at(*iu, "detail", kRequest, at + ".image_url");
                put(q, "detail", detail.empty() ? "auto" : detail.c_str(), a);
            }
            parts.PushBack(std::move(q), a);
        } else {
            untranslatable(at + ".type", "'" + t + "' has no Responses equivalent here");
        }
    }
    return parts;
}

Value message_item(const char* role, Value content, Alloc& a) {
    Value item = obj();
    put(item, "type", "message", a);
    put(item, "role", role, a);
    put(item, "content", std::move(content), a);
    return item;
}

}  // namespace

std::string chat_request_to_responses(std::string_view body, const RequestOptions& opt) {
    const Document d = json_parse(body, kRequest);
    Document out(kObjectType);
    Alloc& a = out.GetAllocator();
    std::string instructions;
    bool leading = true;  // system messages before the first other one are the instructions
    Value input = arr();

    const Value* msgs = array_at(d, "messages", kRequest, "");
    if (!msgs) malformed(kRequest, "messages", "is missing");
    for (rapidjson::SizeType i = 0; i < msgs->Size(); ++i) {
        const Value& m = (*msgs)[i];
        const std::string at = idx("messages", i);
        if (!m.IsObject()) malformed(kRequest, at, "must be an object");
        const std::string role = str_at(m, "role", kRequest, at);
        const Value* content = get(m, "content");
        if (is_instruction_role(role)) {
            const std::string text = content ? text_of(*content, at + ".content", {"text"}) : "";
            if (leading) {
                if (!instructions.empty()) instructions += "\n\n";
                instructions += text;
            } else {
                Value parts = arr();
                Value q = obj();
                put(q, "type", "input_text", a);
                put(q, "text", text, a);
                parts.PushBack(std::move(q), a);
                input.PushBack(message_item(role == "system" ? "system" : "developer", std::move(parts), a), a);
            }
            continue;
        }
        leading = false;
        if (role == "user") {
            if (!content) malformed(kRequest, at + ".content", "is missing");
            input.PushBack(message_item("user", responses_parts(*content, at + ".content", false, a), a), a);
        } else if (role == "assistant") {
            if (get(m, "function_call")) untranslatable(at + ".function_call", "is the legacy form; use tool_calls");
            if (get(m, "audio")) untranslatable(at + ".audio", "has no Responses equivalent");
            // "" beside tool_calls is no text: no message item for it.
            if (content && !(content->IsString() && content->GetStringLength() == 0)) {
                Value parts = responses_parts(*content, at + ".content", true, a);
                if (!parts.Empty()) input.PushBack(message_item("assistant", std::move(parts), a), a);
            }
            if (const Value* calls = array_at(m, "tool_calls", kRequest, at)) {
                for (rapidjson::SizeType j = 0; j < calls->Size(); ++j) {
                    const Value& c = (*calls)[j];
                    const std::string cat = idx(at + ".tool_calls", j);
                    const std::string t = str_at(c, "type", kRequest, cat);
                    if (!t.empty() && t != "function") untranslatable(cat + ".type", "'" + t + "' is unknown");
                    const Value* fn = get(c, "function");
                    if (!fn) malformed(kRequest, cat + ".function", "is missing");
                    Value item = obj();
                    put(item, "type", "function_call", a);
                    put(item, "call_id", str_at(c, "id", kRequest, cat), a);
                    put(item, "name", str_at(*fn, "name", kRequest, cat + ".function"), a);
                    put(item, "arguments", str_at(*fn, "arguments", kRequest, cat + ".function"), a);
                    input.PushBack(std::move(item), a);
                }
            }
        } else if (role == "tool") {
            Value item = obj();
            put(item, "type", "function_call_output", a);
            put(item, "call_id", str_at(m, "tool_call_id", kRequest, at), a);
            put(item, "output", content ? text_of(*content, at + ".content", {"text"}) : "", a);
            input.PushBack(std::move(item), a);
        } else {
            untranslatable(at + ".role", "'" + role + "' has no Responses equivalent");
        }
    }

    Value rest = obj();
    for (auto& m : d.GetObject()) {
        const std::string k(sv(m.name));
        const Value& v = m.value;
        if (k == "model" || k == "messages") continue;
        if (k == "store" || k == "service_tier" || k == "metadata" || k == "seed" ||
            k == "stream_options" || k == "prompt_cache_key" || k == "safety_identifier")
            continue;
        if (v.IsNull()) continue;
        if (k == "temperature" || k == "top_p" || k == "parallel_tool_calls" || k == "user" ||
            k == "stream") {
            put_copy(rest, k.c_str(), v, a);
        } else if (k == "max_tokens" || k == "max_completion_tokens") {
            if (rest.HasMember("max_output_tokens")) rest.RemoveMember("max_output_tokens");
            put_copy(rest, "max_output_tokens", v, a);
        } else if (k == "n") {
            if (!v.IsInt64() || v.GetInt64() != 1) untranslatable("n", "above 1 has no Responses equivalent");
        } else if (k == "logprobs" || k == "top_logprobs") {
            if (!(v.IsBool() && !v.GetBool()) && !(v.IsInt64() && v.GetInt64() == 0))
                untranslatable(k, "has no Responses equivalent here");
        } else if (k == "frequency_penalty" || k == "presence_penalty") {
            if (!v.IsNumber() || v.GetDouble() != 0) untranslatable(k, "has no Responses equivalent");
        } else if (k == "logit_bias") {
            if (!v.IsObject() || !v.ObjectEmpty()) untranslatable(k, "has no Responses equivalent");
        } else if (k == "tools") {
            if (!v.IsArray()) malformed(kRequest, "tools", "must be an array");
            Value tools = arr();
            for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
                const std::string at = idx("tools", i);
                const std::string t = str_at(v[i], "type", kRequest, at);
                if (t != "function") untranslatable(at + ".type", "'" + t + "' has no Responses equivalent");
                const Value* fn = get(v[i], "function");
                if (!fn) malformed(kRequest, at + ".function", "is missing");
                Value tool = obj();
                put(tool, "type", "function", a);
                put(tool, "name", str_at(*fn, "name", kRequest, at + ".function"), a);
                for (const char* kk : {"description", "parameters", "strict"})
                    if (const Value* x = get(*fn, kk)) put_copy(tool, kk, *x, a);
                tools.PushBack(std::move(tool), a);
            }
            put(rest, "tools", std::move(tools), a);
        } else if (k == "tool_choice") {
            if (v.IsString()) {
                if (!is_tool_choice_mode(sv(v))) untranslatable("tool_choice", "'" + std::string(sv(v)) + "' is unknown");
                put_copy(rest, "tool_choice", v, a);
            } else {
                const std::string t = str_at(v, "type", kRequest, "tool_choice");
                const Value* fn = get(v, "function");
                if (t != "function" || !fn) untranslatable("tool_choice.type", "'" + t + "' has no Responses equivalent");
                Value tc = obj();
                put(tc, "type", "function", a);
                put(tc, "name", str_at(*fn, "name", kRequest, "tool_choice.function"), a);
                put(rest, "tool_choice", std::move(tc), a);
            }
        } else if (k == "reasoning_effort") {
            if (!v.IsString()) malformed(kRequest, k, "must be a string");
            if (opt.keep_reasoning) {
                Value r = obj();
                put_copy(r, "effort", v, a);
                put(rest, "reasoning", std::move(r), a);
            }
        } else if (k == "response_format" || k == "verbosity") {
            // Both live in Responses' `text`.
            if (!rest.HasMember("text")) put(rest, "text", obj(), a);
            Value& text = rest["text"];
            if (k == "verbosity") {
                put_copy(text, "verbosity", v, a);
                continue;
            }
            const std::string t = str_at(v, "type", kRequest, "response_format");
            Value f = obj();
            if (t == "json_schema") {
                const Value* js = get(v, "json_schema");
                if (!js) malformed(kRequest, "response_format.json_schema", "is missing");
                put(f, "type", "json_schema", a);
                for (const char* kk : {"name", "description", "schema", "strict"})
                    if (const Value* x = get(*js, kk)) put_copy(f, kk, *x, a);
            } else if (t == "json_object" || t == "text") {
                put(f, "type", t, a);
            } else {
                untranslatable("response_format.type", "'" + t + "' has no Responses equivalent");
            }
            put(text, "format", std::move(f), a);
        } else if (k == "functions" || k == "function_call") {
            untranslatable(k, "is the legacy form; use tools");
        } else {
            untranslatable(k, "has no Responses equivalent");
        }
    }

    if (const Value* model = get(d, "model")) put_copy(out, "model", *model, a);
    if (!instructions.empty()) put(out, "instructions", instructions, a);
    put(out, "input", std::move(input), a);
    for (auto& m : rest.GetObject()) out.AddMember(m.name, m.value, a);
    put(out, "store", Value(false), a);
    return json_dump(out);
}

// ---- whole answers --------------------------------------------------------------

namespace {

Usage chat_usage(const Value& answer) {
    Usage u;
    if (const Value* us = get(answer, "usage")) {
        u.input = int_at(*us, "prompt_tokens");
        u.output = int_at(*us, "completion_tokens");
        if (const Value* p = get(*us, "prompt_tokens_details")) u.cached = int_at(*p, "cached_tokens");
        if (const Value* c = get(*us, "completion_tokens_details"))
            u.reasoning = int_at(*c, "reasoning_tokens");
    }
    return u;
}

Usage responses_usage(const Value& response) {
    Usage u;
    if (const Value* us = get(response, "usage")) {
        u.input = int_at(*us, "input_tokens");
        u.output = int_at(*us, "output_tokens");
        if (const Value* p = get(*us, "input_tokens_details")) u.cached = int_at(*p, "cached_tokens");
        if (const Value* c = get(*us, "output_tokens_details"))
            u.reasoning = int_at(*c, "reasoning_tokens");
    }
    return u;
}

Value responses_usage_value(const Usage& u, Alloc& a) {
    Value v = obj();
    put(v, "input_tokens", Value(u.input), a);
    Value in = obj();
    put(in, "cached_tokens", Value(u.cached), a);
    put(v, "input_tokens_details", std::move(in), a);
    put(v, "output_tokens", Value(u.output), a);
    Value out = obj();
    put(out, "reasoning_tokens", Value(u.reasoning), a);
    put(v, "output_tokens_details", std::move(out), a);
    put(v, "total_tokens", Value(u.input + u.output), a);
    return v;
}

Value chat_usage_value(const Usage& u, Alloc& a) {
    Value v = obj();
    put(v, "prompt_tokens", Value(u.input), a);
    put(v, "completion_tokens", Value(u.output), a);
    put(v, "total_tokens", Value(u.input + u.output), a);
    Value p = obj();
    put(p, "cached_tokens", Value(u.cached), a);
    put(v, "prompt_tokens_details", std::move(p), a);
    Value c = obj();
    put(c, "reasoning_tokens", Value(u.reasoning), a);
    put(v, "completion_tokens_details", std::move(c), a);
    return v;
}

// Output items, as both the whole answer and the stream build them.
Value text_part(std::string_view text, Alloc& a) {
    Value p = obj();
    put(p, "type", "output_text", a);
    put(p, "text", text, a);
    put(p, "annotations", arr(), a);
    return p;
}

Value message_output(const std::string& id, const char* status, Value content, Alloc& a) {
    Value item = obj();
    put(item, "id", id, a);
    put(item, "type", "message", a);
    put(item, "status", status, a);
    put(item, "role", "assistant", a);
    put(item, "content", std::move(content), a);
    return item;
}

Value call_output(const std::string& id, const char* status, std::string_view call_id,
                  std::string_view name, std::string_view arguments, Alloc& a) {
    Value item = obj();
    put(item, "id", id, a);
    put(item, "type", "function_call", a);
    put(item, "status", status, a);
    put(item, "call_id", call_id, a);
    put(item, "name", name, a);
    put(item, "arguments", arguments, a);
    return item;
}

// Chat's finish_reason as a Responses status and incomplete_details.reason.
const char* incomplete_reason(std::string_view finish) {
    if (finish == "length") return "max_output_tokens";
    if (finish == "content_filter") return "content_filter";
    return nullptr;
}

// The response object: its head fields, then output and usage.
Value response_object(const std::string& id, int64_t created, const std::string& model,
                      const char* status, Alloc& a) {
    Value r = obj();
    put(r, "id", id, a);
    put(r, "object", "response", a);
    put(r, "created_at", Value(created), a);
    put(r, "status", status, a);
    put(r, "error", Value(), a);
    put(r, "incomplete_details", Value(), a);
    put(r, "model", model, a);
    return r;
}

void set_incomplete(Value& r, const char* reason, Alloc& a) {
    r["status"].SetString("incomplete", a);
    Value det = obj();
    put(det, "reason", reason, a);
    r["incomplete_details"] = std::move(det);
}

std::string model_of(const Context& ctx, const Value& answer) {
    if (!ctx.model.empty()) return ctx.model;
    const Value* m = get(answer, "model");
    return m && m->IsString() ? std::string(sv(*m)) : "";
}

}  // namespace

std::string chat_answer_to_responses(std::string_view answer, const Context& ctx) {
    const Document d = json_parse(answer, kAnswer);
    const Value* choices = array_at(d, "choices", kAnswer, "");
    if (!choices || choices->Empty() || !(*choices)[0].IsObject())
        malformed(kAnswer, "choices", "must hold a choice");
    const Value& choice = (*choices)[0];
    const Value* msg = get(choice, "message");
    if (!msg || !msg->IsObject()) malformed(kAnswer, "choices[0].message", "must be an object");

    Document out(kObjectType);
    Alloc& a = out.GetAllocator();
    const std::string id = make_id(ctx, "resp_");
    const std::string tail = id_tail(id);
    Value r = response_object(id, created_of(ctx), model_of(ctx, d), "completed", a);
    Value output = arr();
    const std::string text = str_at(*msg, "content", kAnswer, "choices[0].message");
    const std::string refusal = str_at(*msg, "refusal", kAnswer, "choices[0].message");
    if (!text.empty() || !refusal.empty()) {
        Value content = arr();
        if (!text.empty()) content.PushBack(text_part(text, a), a);
        if (!refusal.empty()) {
            Value p = obj();
            put(p, "type", "refusal", a);
            put(p, "refusal", refusal, a);
            content.PushBack(std::move(p), a);
        }
        output.PushBack(message_output(item_id("msg_", tail, output.Size()), "completed", std::move(content), a), a);
    }
    if (const Value* calls = array_at(*msg, "tool_calls", kAnswer, "choices[0].message")) {
        for (rapidjson::SizeType i = 0; i < calls->Size(); ++i) {
            const std::string at = idx("choices[0].message.tool_calls", i);
            const Value* fn = get((*calls)[i], "function");
            if (!fn) malformed(kAnswer, at + ".function", "is missing");
            output.PushBack(call_output(item_id("fc_", tail, output.Size()), "completed",
                                        str_at((*calls)[i], "id", kAnswer, at),
                                        str_at(*fn, "name", kAnswer, at + ".function"),
                                        str_at(*fn, "arguments", kAnswer, at + ".function"), a),
                            a);
        }
    }
    if (const char* reason = incomplete_reason(str_at(choice, "finish_reason", kAnswer, "choices[0]")))
        set_incomplete(r, reason, a);
    put(r, "output", std::move(output), a);
    put(r, "usage", responses_usage_value(chat_usage(d), a), a);
    return json_dump(r);
}

namespace {

// The chat.completion(.chunk) head.
Value chat_head(const std::string& id, const char* object, int64_t created,
                const std::string& model, Alloc& a) {
    Value c = obj();
    put(c, "id", id, a);
    put(c, "object", object, a);
    put(c, "created", Value(created), a);
    put(c, "model", model, a);
    return c;
}

Value tool_call_value(std::string_view call_id, std::string_view name, std::string_view args,
                      Alloc& a) {
    Value call = obj();
    put(call, "id", call_id, a);
    put(call, "type", "function", a);
    Value fn = obj();
    put(fn, "name", name, a);
    put(fn, "arguments", args, a);
    put(call, "function", std::move(fn), a);
    return call;
}

// A Responses status (and incomplete reason) as Chat's finish_reason.
const char* finish_reason_of(const Value& response, bool calls) {
    const Value* st = get(response, "status");
    if (st && st->IsString() && sv(*st) == "incomplete") {
        const Value* det = get(response, "incomplete_details");
        const Value* reason = det ? get(*det, "reason") : nullptr;
        if (reason && reason->IsString() && sv(*reason) == "content_filter") return "content_filter";
        return "length";
    }
    return calls ? "tool_calls" : "stop";
}

std::string error_message(const Value& holder) {
    const Value* e = get(holder, "error");
    const Value* m = e ? get(*e, "message") : get(holder, "message");
    return m && m->IsString() ? std::string(sv(*m)) : "the upstream response failed";
}

}  // namespace

std::string responses_answer_to_chat(std::string_view answer, const Context& ctx) {
    const Document d = json_parse(answer, kAnswer);
    const std::string status = str_at(d, "status", kAnswer, "");
    if (status == "failed") throw Error(Exit::protocol, "upstream answer: " + error_message(d));
    std::string text, refusal;
    Document out(kObjectType);
    Alloc& a = out.GetAllocator();
    Value calls = arr();
    if (const Value* output = array_at(d, "output", kAnswer, "")) {
        for (rapidjson::SizeType i = 0; i < output->Size(); ++i) {
            const Value& item = (*output)[i];
            const std::string at = idx("output", i);
            const std::string type = str_at(item, "type", kAnswer, at);
            if (type == "message") {
                const Value* content = array_at(item, "content", kAnswer, at);
                if (!content) continue;
                for (rapidjson::SizeType j = 0; j < content->Size(); ++j) {
                    const Value& p = (*content)[j];
                    const std::string pt = str_at(p, "type", kAnswer, idx(at + ".content", j));
                    if (pt == "output_text") text += str_at(p, "text", kAnswer, idx(at + ".content", j));
                    if (pt == "refusal") refusal += str_at(p, "refusal", kAnswer, idx(at + ".content", j));
                }
            } else if (type == "function_call") {
                calls.PushBack(tool_call_value(str_at(item, "call_id", kAnswer, at),
                                               str_at(item, "name", kAnswer, at),
                                               str_at(item, "arguments", kAnswer, at), a),
                               a);
            }
            // reasoning items have no place in a chat.completion.
        }
    }
    const bool have_calls = !calls.Empty();
    Value c = chat_head(make_id(ctx, "chatcmpl-"), "chat.completion", created_of(ctx), model_of(ctx, d), a);
    Value msg = obj();
    put(msg, "role", "assistant", a);
    put(msg, "content", text.empty() && have_calls ? Value() : S(text, a), a);
    if (!refusal.empty()) put(msg, "refusal", refusal, a);
    if (have_calls) put(msg, "tool_calls", std::move(calls), a);
    Value choice = obj();
    put(choice, "index", Value(0), a);
    put(choice, "message", std::move(msg), a);
    put(choice, "finish_reason", finish_reason_of(d, have_calls), a);
    Value choices = arr();
    choices.PushBack(std::move(choice), a);
    put(c, "choices", std::move(choices), a);
    put(c, "usage", chat_usage_value(responses_usage(d), a), a);
    return json_dump(c);
}

// ---- streams: Chat chunks -> Responses events ----------------------------------

namespace {

class ChatToResponses : public StreamTranslator {
public:
    ChatToResponses(EventSink* out, const Context& ctx)
        : out_(out), id_(make_id(ctx, "resp_")), tail_(id_tail(id_)), created_(created_of(ctx)),
          model_(ctx.model) {}

    void event(std::string_view, std::string_view data) override {
        if (done_) return;
        if (data == "[DONE]") return end();
        Document d;
        try {
            d = json_parse(data, kEvent);
        } catch (const Error& e) {
            return fail(e.what());
        }
        if (get(d, "error")) return fail(error_message(d));
        start();
        if (model_.empty()) model_ = model_of(Context{}, d);
        if (get(d, "usage")) usage_ = chat_usage(d);
        const Value* choices = get(d, "choices");
        if (!choices || !choices->IsArray() || choices->Empty()) return;  // the usage-only chunk
        const Value& choice = (*choices)[0];
        if (const Value* delta = get(choice, "delta")) {
            const Value* content = get(*delta, "content");
            if (content && content->IsString() && content->GetStringLength() > 0) text(sv(*content));
            const Value* calls = get(*delta, "tool_calls");
            if (calls && calls->IsArray())
                for (rapidjson::SizeType i = 0; i < calls->Size(); ++i) call_delta((*calls)[i], i);
        }
        const Value* finish = get(choice, "finish_reason");
        if (finish && finish->IsString()) {
            finish_ = std::string(sv(*finish));
            close_all("completed");
        }
    }

    void end() override {
        if (done_) return;
        start();
        close_all("completed");
        const char* reason = incomplete_reason(finish_);
        emit(reason ? "response.incomplete" : "response.completed", [&](Value& ev, Alloc& a) {
            Value r = response(reason ? "incomplete" : "completed", a);
            if (reason) set_incomplete(r, reason, a);
            put(ev, "response", std::move(r), a);
        });
        done_ = true;
    }

    void fail(std::string_view message) override {
        if (done_) return;
        start();
        close_all("incomplete");
        emit("response.failed", [&](Value& ev, Alloc& a) {
            Value r = response("failed", a);
            Value err = obj();
            put(err, "code", "server_error", a);
            put(err, "message", message, a);
            r["error"] = std::move(err);
            put(ev, "response", std::move(r), a);
        });
        done_ = true;
    }

    Usage usage() const override { return usage_; }

private:
    struct Item {
        bool call = false;
        bool open = true;
        std::string id;
        std::string text;  // a message's text, a call's arguments
        std::string call_id, name;
        const char* status = "in_progress";
    };

    template <typename Fill>
    void emit(const char* type, Fill fill) {
        Document d(kObjectType);
        Alloc& a = d.GetAllocator();
        put(d, "type", type, a);
        put(d, "sequence_number", Value(seq_++), a);
        fill(d, a);
        out_->event(type, json_dump(d));
    }

    Value item_value(const Item& it, Alloc& a) const {
        if (it.call) return call_output(it.id, it.status, it.call_id, it.name, it.text, a);
        Value content = arr();
        content.PushBack(text_part(it.text, a), a);
        return message_output(it.id, it.status, std::move(content), a);
    }

    // The response object as it stands; usage once the answer is over.
    Value response(const char* status, Alloc& a) const {
        Value r = response_object(id_, created_, model_, status, a);
        Value output = arr();
        for (const auto& it : items_) output.PushBack(item_value(it, a), a);
        put(r, "output", std::move(output), a);
        put(r, "usage", started_final(status) ? responses_usage_value(usage_, a) : Value(), a);
        return r;
    }
    static bool started_final(const char* status) { return std::string_view(status) != "in_progress"; }

    void start() {
        if (started_) return;
        started_ = true;
        for (const char* type : {"response.created", "response.in_progress"})
            emit(type, [&](Value& ev, Alloc& a) { put(ev, "response", response("in_progress", a), a); });
    }

    size_t add_item(Item it) {
        const size_t index = items_.size();
        items_.push_back(std::move(it));
        emit("response.output_item.added", [&](Value& ev, Alloc& a) {
            put(ev, "output_index", Value(uint64_t(index)), a);
            Value item = item_value(items_[index], a);
            if (!items_[index].call) item["content"].Clear();  // parts come with content_part.added
            put(ev, "item", std::move(item), a);
        });
        return index;
    }

    void text(std::string_view delta) {
        if (text_item_ < 0) {
            Item it;
            it.id = item_id("msg_", tail_, items_.size());
            text_item_ = int(add_item(std::move(it)));
            emit("response.content_part.added", [&](Value& ev, Alloc& a) {
                put(ev, "item_id", items_[size_t(text_item_)].id, a);
                put(ev, "output_index", Value(text_item_), a);
                put(ev, "content_index", Value(0), a);
                put(ev, "part", text_part("", a), a);
            });
        }
        Item& it = items_[size_t(text_item_)];
        it.text.append(delta.data(), delta.size());
        emit("response.output_text.delta", [&](Value& ev, Alloc& a) {
            put(ev, "item_id", it.id, a);
            put(ev, "output_index", Value(text_item_), a);
            put(ev, "content_index", Value(0), a);
            put(ev, "delta", delta, a);
            put(ev, "logprobs", arr(), a);
        });
    }

    // A tool_calls delta: the first one for an index opens its function_call
    // item (its id and name come with it), the others carry arguments.
    void call_delta(const Value& c, rapidjson::SizeType position) {
        const Value* ix = get(c, "index");
        const int64_t key = ix && ix->IsInt64() ? ix->GetInt64() : int64_t(position);
        const Value* fn = get(c, "function");
        const Value* name = fn ? get(*fn, "name") : nullptr;
        const Value* args = fn ? get(*fn, "arguments") : nullptr;
        auto found = calls_.find(key);
        if (found == calls_.end() || !items_[found->second].open) {
            if (text_item_ >= 0) close(size_t(text_item_), "completed");
            Item it;
            it.call = true;
            it.id = item_id("fc_", tail_, items_.size());
            const Value* cid = get(c, "id");
            if (cid && cid->IsString()) it.call_id = std::string(sv(*cid));
            if (name && name->IsString()) it.name = std::string(sv(*name));
            calls_[key] = add_item(std::move(it));
            found = calls_.find(key);
        } else if (name && name->IsString()) {
            items_[found->second].name.append(sv(*name));
        }
        if (!args || !args->IsString() || args->GetStringLength() == 0) return;
        const size_t index = found->second;
        items_[index].text.append(sv(*args));
        emit("response.function_call_arguments.delta", [&](Value& ev, Alloc& a) {
            put(ev, "item_id", items_[index].id, a);
            put(ev, "output_index", Value(uint64_t(index)), a);
            put(ev, "delta", sv(*args), a);
        });
    }

    void close(size_t index, const char* status) {
        Item& it = items_[index];
        if (!it.open) return;
        it.open = false;
        it.status = status;
        if (it.call) {
            emit("response.function_call_arguments.done", [&](Value& ev, Alloc& a) {
                put(ev, "item_id", it.id, a);
                put(ev, "output_index", Value(uint64_t(index)), a);
                put(ev, "name", it.name, a);
                put(ev, "arguments", it.text, a);
            });
        } else {
            text_item_ = -1;
            emit("response.output_text.done", [&](Value& ev, Alloc& a) {
                put(ev, "item_id", it.id, a);
                put(ev, "output_index", Value(uint64_t(index)), a);
                put(ev, "content_index", Value(0), a);
                put(ev, "text", it.text, a);
                put(ev, "logprobs", arr(), a);
            });
            emit("response.content_part.done", [&](Value& ev, Alloc& a) {
                put(ev, "item_id", it.id, a);
                put(ev, "output_index", Value(uint64_t(index)), a);
                put(ev, "content_index", Value(0), a);
                put(ev, "part", text_part(it.text, a), a);
            });
        }
        emit("response.output_item.done", [&](Value& ev, Alloc& a) {
            put(ev, "output_index", Value(uint64_t(index)), a);
            put(ev, "item", item_value(it, a), a);
        });
    }

    void close_all(const char* status) {
        for (size_t i = 0; i < items_.size(); ++i) close(i, status);
    }

    EventSink* out_;
    std::string id_, tail_;
    int64_t created_;
    std::string model_;
    int64_t seq_ = 0;
    bool started_ = false, done_ = false;
    std::vector<Item> items_;           // by output_index
    int text_item_ = -1;                // the message item text goes to, or -1
    std::map<int64_t, size_t> calls_;   // Chat's tool_call index -> output_index
    std::string finish_;
    Usage usage_;
};

// ---- streams: Responses events -> Chat chunks ------------------------------------

class ResponsesToChat : public StreamTranslator {
public:
    ResponsesToChat(EventSink* out, const Context& ctx, bool include_usage)
        : out_(out), id_(make_id(ctx, "chatcmpl-")), created_(created_of(ctx)), model_(ctx.model),
          include_usage_(include_usage) {}

    void event(std::string_view name, std::string_view data) override {
        if (done_) return;
        Document d;
        try {
            d = json_parse(data, kEvent);
        } catch (const Error& e) {
            return fail(e.what());
        }
        std::string type = str_of(d, "type");
        if (type.empty()) type = std::string(name);
        const Value* resp = get(d, "response");
        if (type == "response.created") {
            if (model_.empty() && resp) model_ = model_of(Context{}, *resp);
            start();
        } else if (type == "response.output_text.delta" || type == "response.refusal.delta") {
            start();
            const std::string delta = str_of(d, "delta");
            if (delta.empty()) return;
            chunk([&](Value& dl, Alloc& a) {
                put(dl, type == "response.refusal.delta" ? "refusal" : "content", delta, a);
            });
        } else if (type == "response.output_item.added") {
            const Value* item = get(d, "item");
            if (!item || str_of(*item, "type") != "function_call") return;
            start();
            const int n = int(calls_.size());
            Call& c = calls_[int_at(d, "output_index")];
            c.index = n;
            const std::string args = str_of(*item, "arguments");
            c.args_sent = !args.empty();
            chunk([&](Value& dl, Alloc& a) {
                Value call = tool_call_value(str_of(*item, "call_id"), str_of(*item, "name"), args, a);
                Value tc = obj();
                put(tc, "index", Value(n), a);
                for (auto& m : call.GetObject()) tc.AddMember(m.name, m.value, a);
                tool_calls(dl, std::move(tc), a);
            });
        } else if (type == "response.function_call_arguments.delta" ||
                   type == "response.function_call_arguments.done" ||
                   type == "response.output_item.done") {
            auto it = calls_.find(int_at(d, "output_index"));
            if (it == calls_.end()) return;
            std::string args;
            if (type == "response.function_call_arguments.delta") {
                args = str_of(d, "delta");
            } else if (!it->second.args_sent) {
                // Arguments that came whole, not as deltas.
                const Value* item = get(d, "item");
                args = item ? str_of(*item, "arguments") : str_of(d, "arguments");
            }
            if (args.empty()) return;
            it->second.args_sent = true;
            const int n = it->second.index;
            chunk([&](Value& dl, Alloc& a) {
                Value tc = obj();
                put(tc, "index", Value(n), a);
                Value fn = obj();
                put(fn, "arguments", args, a);
                put(tc, "function", std::move(fn), a);
                tool_calls(dl, std::move(tc), a);
            });
        } else if (type == "response.completed" || type == "response.incomplete") {
            start();
            if (resp) usage_ = responses_usage(*resp);
            const char* finish = finish_reason_of(resp ? *resp : d, !calls_.empty());
            chunk([](Value&, Alloc&) {}, finish);
            if (include_usage_) {
                Document u(kObjectType);
                Alloc& a = u.GetAllocator();
                Value c = chat_head(id_, "chat.completion.chunk", created_, model_, a);
                put(c, "choices", arr(), a);
                put(c, "usage", chat_usage_value(usage_, a), a);
                out_->event("", json_dump(c));
            }
            out_->event("", "[DONE]");
            done_ = true;
        } else if (type == "response.failed") {
            const Value* e = resp ? get(*resp, "error") : nullptr;
            fail_with(resp ? error_message(*resp) : "the upstream response failed",
                      e ? str_of(*e, "code") : "");
        } else if (type == "error") {
            const Value* e = get(d, "error");
            fail_with(error_message(d), str_of(e ? *e : static_cast<const Value&>(d), "code"));
        }
        // Other events (reasoning summaries, in_progress, content_part.*) have
        // no Chat chunk.
    }

    void end() override {
        if (!done_) fail("the upstream stream ended before the response was complete");
    }

    void fail(std::string_view message) override { fail_with(message, ""); }

    Usage usage() const override { return usage_; }

private:
    struct Call {
        int index = 0;  // Chat's tool_calls index
        bool args_sent = false;
    };

    static std::string str_of(const Value& v, const char* key) {
        const Value* s = get(v, key);
        return s && s->IsString() ? std::string(sv(*s)) : "";
    }

    static void tool_calls(Value& delta, Value call, Alloc& a) {
        Value calls = arr();
        calls.PushBack(std::move(call), a);
        put(delta, "tool_calls", std::move(calls), a);
    }

    template <typename Fill>
    void chunk(Fill fill, const char* finish = nullptr) {
        Document d(kObjectType);
        Alloc& a = d.GetAllocator();
        Value c = chat_head(id_, "chat.completion.chunk", created_, model_, a);
        Value delta = obj();
        fill(delta, a);
        Value choice = obj();
        put(choice, "index", Value(0), a);
        put(choice, "delta", std::move(delta), a);
        put(choice, "finish_reason", finish ? S(finish, a) : Value(), a);
        Value choices = arr();
        choices.PushBack(std::move(choice), a);
        put(c, "choices", std::move(choices), a);
        out_->event("", json_dump(c));
    }

    // The first chunk names the role, as OpenAI's streams do.
    void start() {
        if (started_) return;
        started_ = true;
        chunk([](Value& dl, Alloc& a) {
            put(dl, "role", "assistant", a);
            put(dl, "content", "", a);
        });
    }

    void fail_with(std::string_view message, const std::string& code) {
        if (done_) return;
        done_ = true;
        Document d(kObjectType);
        Alloc& a = d.GetAllocator();
        Value err = obj();
        put(err, "message", message, a);
        put(err, "type", "server_error", a);
        put(err, "code", code.empty() ? Value() : S(code, a), a);
        put(d, "error", std::move(err), a);
        out_->event("", json_dump(d));
    }

    EventSink* out_;
    std::string id_;
    int64_t created_;
    std::string model_;
    bool include_usage_;
    bool started_ = false, done_ = false;
    std::map<int64_t, Call> calls_;  // by output_index
    Usage usage_;
};

}  // namespace

std::unique_ptr<StreamTranslator> chat_stream_to_responses(EventSink* out, const Context& ctx) {
    return std::make_unique<ChatToResponses>(out, ctx);
}

std::unique_ptr<StreamTranslator> responses_stream_to_chat(EventSink* out, const Context& ctx,
                                                           bool include_usage) {
    return std::make_unique<ResponsesToChat>(out, ctx, include_usage);
}

}  // namespace copilot::wire
