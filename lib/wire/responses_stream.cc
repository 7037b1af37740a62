// Chat <-> Responses streams, event by event (declared in wire/responses.h;
// ARCHITECTURE.md, "Wire APIs").
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "util/json.h"
#include "wire/responses.h"
#include "wire/responses_docs.h"

namespace copilot::wire {

using namespace docs;

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
        // Every choice: Copilot splits some models' answers over several
        // (see chat_answer_to_responses).
        for (const auto& choice : choices->GetArray()) {
            const int64_t ci = int_at(choice, "index");
            if (const Value* delta = get(choice, "delta")) {
                const Value* content = get(*delta, "content");
                if (content && content->IsString() && content->GetStringLength() > 0) text(sv(*content));
                const Value* calls = get(*delta, "tool_calls");
                if (calls && calls->IsArray())
                    for (rapidjson::SizeType i = 0; i < calls->Size(); ++i) call_delta(ci, (*calls)[i], i);
            }
            const Value* finish = get(choice, "finish_reason");
            if (finish && finish->IsString()) {
                // A cut answer stays cut whatever another choice says.
                if (!incomplete_reason(finish_)) finish_ = std::string(sv(*finish));
                close_all("completed");
            }
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
    void call_delta(int64_t choice, const Value& c, rapidjson::SizeType position) {
        const Value* ix = get(c, "index");
        const std::pair<int64_t, int64_t> key{choice, ix && ix->IsInt64() ? ix->GetInt64() : int64_t(position)};
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
    std::map<std::pair<int64_t, int64_t>, size_t> calls_;  // (choice, tool_call index) -> output_index
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
