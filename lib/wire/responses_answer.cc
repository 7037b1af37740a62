// Chat <-> Responses whole answers (declared in wire/responses.h; the
// requests are wire/responses.cc, the streams wire/responses_stream.cc;
// ARCHITECTURE.md, "Wire APIs").
#include <string>

#include "util/json.h"
#include "wire/responses.h"
#include "wire/responses_docs.h"

namespace copilot::wire {

using namespace docs;

std::string chat_answer_to_responses(std::string_view answer, const Context& ctx) {
    const Document d = json_parse(answer, kAnswer);
    const Value* choices = array_at(d, "choices", kAnswer, "");
    if (!choices || choices->Empty()) malformed(kAnswer, "choices", "must hold a choice");

    Document out(kObjectType);
    Alloc& a = out.GetAllocator();
    const std::string id = make_id(ctx, "resp_");
    const std::string tail = id_tail(id);
    Value r = response_object(id, created_of(ctx), model_of(ctx, d), "completed", a);
    // A translated request never asks for n > 1, yet Copilot splits some
    // models' answers over several choices (the text in one, the tool calls
    // in another): they are one answer.
    std::string text, refusal;
    const char* incomplete = nullptr;
    Value calls = arr();
    for (rapidjson::SizeType c = 0; c < choices->Size(); ++c) {
        const Value& choice = (*choices)[c];
        const std::string at = idx("choices", c);
        const Value* msg = get(choice, "message");
        if (!msg || !msg->IsObject()) malformed(kAnswer, at + ".message", "must be an object");
        text += str_at(*msg, "content", kAnswer, at + ".message");
        refusal += str_at(*msg, "refusal", kAnswer, at + ".message");
        if (const Value* tc = array_at(*msg, "tool_calls", kAnswer, at + ".message")) {
            for (rapidjson::SizeType i = 0; i < tc->Size(); ++i) {
                const std::string cat = idx(at + ".message.tool_calls", i);
                const Value* fn = get((*tc)[i], "function");
                if (!fn) malformed(kAnswer, cat + ".function", "is missing");
                Value call = obj();
                put(call, "call_id", str_at((*tc)[i], "id", kAnswer, cat), a);
                put(call, "name", str_at(*fn, "name", kAnswer, cat + ".function"), a);
                put(call, "arguments", str_at(*fn, "arguments", kAnswer, cat + ".function"), a);
                calls.PushBack(std::move(call), a);
            }
        }
        if (!incomplete) incomplete = incomplete_reason(str_at(choice, "finish_reason", kAnswer, at));
    }
    Value output = arr();
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
    for (auto& call : calls.GetArray())
        output.PushBack(call_output(item_id("fc_", tail, output.Size()), "completed", sv(call["call_id"]),
                                    sv(call["name"]), sv(call["arguments"]), a),
                        a);
    if (incomplete) set_incomplete(r, incomplete, a);
    put(r, "output", std::move(output), a);
    put(r, "usage", responses_usage_value(chat_usage(d), a), a);
    return json_dump(r);
}

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

}  // namespace copilot::wire
