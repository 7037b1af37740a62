#include "wire/responses.h"

#include <initializer_list>
#include <vector>

#include "util/json.h"
#include "wire/responses_docs.h"

namespace copilot::wire {

using namespace docs;

namespace {

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

RequestFacts chat_facts(std::string_view body) { return chat_facts(json_parse(body, kRequest)); }

RequestFacts chat_facts(const Value& d) {
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
    return responses_facts(json_parse(body, kRequest));
}

RequestFacts responses_facts(const Value& d) {
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
            k == "metadata" || k == "client_metadata" || k == "prompt_cache_key" ||
            k == "safety_identifier" || k == "stream_options")
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

}  // namespace copilot::wire
