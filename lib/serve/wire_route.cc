#include "serve/wire_route.h"

#include <algorithm>
#include <ctime>

#include "api/models.h"
#include "net/endpoints.h"  // uuid_v4
#include "serve/request_log.h"  // client_text
#include "util/json.h"
#include "util/text.h"
#include "wire/messages.h"
#include "wire/responses.h"
#include "wire/tokens.h"
#include "wire/usage.h"

namespace copilot {

using wire::Api;

// --- headers ------------------------------------------------------------------------------

const std::vector<std::string>& anthropic_betas_kept() {
    // The betas Claude Code sends that Copilot's /v1/messages takes; others
    // (files, code execution, MCP connectors, ...) name server features
    // Copilot does not have, and a request naming one is refused there.
    static const std::vector<std::string> kept = {
        "interleaved-thinking-2025-05-14",
        "fine-grained-tool-streaming-2025-05-14",
        "context-management-2025-06-27",
        "token-efficient-tools-2025-02-19",
    };
    return kept;
}

std::string filter_anthropic_beta(std::string_view value) {
    std::string out;
    size_t start = 0;
    while (start <= value.size()) {
        size_t comma = value.find(',', start);
        if (comma == std::string_view::npos) comma = value.size();
        const std::string v = trim(value.substr(start, comma - start));
        for (const std::string& k : anthropic_betas_kept())
            if (v == k && out.find(k) == std::string::npos) out += (out.empty() ? "" : ",") + v;
        start = comma + 1;
    }
    return out;
}

// --- model names --------------------------------------------------------------------------

namespace {

std::vector<std::string> catalogue_ids(const Catalogue& cat) {
    std::vector<std::string> ids;
    for (const ModelInfo& m : cat.models) ids.push_back(m.id);
    return ids;
}

// The id the request goes upstream as (wire/model_names: --model-map
// first, then the catalogue's id for the name). A name that maps to none is
// a 404 for an Anthropic client; an OpenAI client's goes on as it is, and
// the upstream answers it in its own words.
std::string resolve_model(Api client, const std::string& name, const Catalogue* cat,
                          const wire::ModelMap& map) {
    const std::vector<std::string> ids = cat ? catalogue_ids(*cat) : std::vector<std::string>{};
    if (auto id = wire::map_model_name(name, ids, map)) return *id;
    if (!cat || client != Api::messages) return name;
    std::string msg = "model: " + client_text(name, 80) + " is not a model here";
    const std::vector<std::string> close = wire::close_matches(name, ids);
    if (!close.empty()) {
        msg += " (close: ";
        for (size_t i = 0; i < close.size(); ++i) msg += (i ? ", " : "") + close[i];
        msg += ")";
    }
    throw ModelNotFound(msg + "; GET /v1/models lists them, --model-map maps a name");
}

// `body` with its "model" set to `model`.
std::string with_model(std::string_view body, const std::string& model) {
    rapidjson::Document doc = json_parse(body, JsonSource{"the request body", Exit::data}, false);
    if (!doc.IsObject()) throw Error(Exit::data, "the request body must be a JSON object");
    rapidjson::Value v(model.c_str(), static_cast<rapidjson::SizeType>(model.size()),
                       doc.GetAllocator());
    auto m = doc.FindMember("model");
    if (m != doc.MemberEnd())
        m->value = v;
    else
        doc.AddMember("model", v, doc.GetAllocator());
    return json_dump(doc);
}

// The top-level fields Copilot's /v1/messages takes; a passed-through
// request loses the others (Claude Code's context_management,
// output_config, ...: Copilot refuses a request naming one).
constexpr const char* kMessagesFields[] = {
    "model",       "messages",    "max_tokens", "system",         "tools",    "tool_choice",
    "thinking",    "stream",      "temperature", "top_p",         "top_k",    "stop_sequences",
    "metadata",    "service_tier"};

// The names of `doc`'s top-level members not in `fields`, removed from it.
template <size_t N>
std::vector<std::string> drop_unknown_fields(rapidjson::Document& doc, const char* const (&fields)[N]) {
    std::vector<std::string> out;
    for (const auto& m : doc.GetObject()) {
        const std::string_view k(m.name.GetString(), m.name.GetStringLength());
        if (std::none_of(fields, fields + N, [&](const char* f) { return k == f; })) out.emplace_back(k);
    }
    for (const std::string& k : out) doc.RemoveMember(k.c_str());
    return out;
}

rapidjson::Document request_object(std::string_view body) {
    rapidjson::Document doc = json_parse(body, JsonSource{"the request body", Exit::data}, false);
    if (!doc.IsObject()) throw Error(Exit::data, "the request body must be a JSON object");
    return doc;
}

// `body` without the fields Copilot's /v1/messages refuses (unchanged, byte
// for byte, when it has none); their names go to *dropped.
std::string messages_passthrough_body(std::string_view body, std::vector<std::string>* dropped) {
    rapidjson::Document doc = request_object(body);
    std::vector<std::string> out = drop_unknown_fields(doc, kMessagesFields);
    if (out.empty()) return std::string(body);
    *dropped = std::move(out);
    return json_dump(doc);
}

// The top-level fields Copilot's /responses takes, and the one tool type it
// takes ("function"); a passed-through request loses the others (Codex's
// client_metadata, its "namespace" and "web_search" tools: Copilot refuses a
// request naming one).
constexpr const char* kResponsesFields[] = {
    "model",       "input",       "instructions",     "tools",                "tool_choice",
    "max_output_tokens", "reasoning", "stream",       "store",                "temperature",
    "top_p",       "parallel_tool_calls", "metadata", "include",              "text",
    "truncation",  "user",        "previous_response_id", "prompt_cache_key", "safety_identifier",
    "stream_options", "top_logprobs", "max_tool_calls", "background",         "service_tier"};

// `body` without the fields and tools Copilot's /responses refuses
// (unchanged, byte for byte, when it has none); their names go to *dropped
// (a tool as "tools[TYPE]").
std::string responses_passthrough_body(std::string_view body, std::vector<std::string>* dropped) {
    rapidjson::Document doc = request_object(body);
    std::vector<std::string> out = drop_unknown_fields(doc, kResponsesFields);
    bool tools_changed = false;
    auto tools = doc.FindMember("tools");
    if (tools != doc.MemberEnd() && tools->value.IsArray()) {
        auto& arr = tools->value;
        for (rapidjson::SizeType i = arr.Size(); i-- > 0;) {
            const auto& t = arr[i];
            if (!t.IsObject()) continue;  // Copilot's own 400 says what is wrong with it
            auto type = t.FindMember("type");
            if (type == t.MemberEnd() || !type->value.IsString()) continue;
            const std::string_view ty(type->value.GetString(), type->value.GetStringLength());
            if (ty == "function") continue;
            const std::string name = "tools[" + std::string(ty) + "]";
            if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
            arr.Erase(arr.Begin() + i);
            tools_changed = true;
        }
    }
    if (out.empty() && !tools_changed) return std::string(body);
    *dropped = std::move(out);
    return json_dump(doc);
}

std::string new_id(Api api) {
    const char* prefix = api == Api::messages ? "msg_" : api == Api::responses ? "resp_" : "chatcmpl-";
    std::string id = prefix;
    for (char c : uuid_v4())
        if (c != '-') id += c;
    return id;
}

}  // namespace

// --- the plan -----------------------------------------------------------------------------

WirePlan plan_wire_request(Api client, std::string_view body, const wire::RequestFacts& facts,
                           const Catalogue* cat, const wire::ModelMap& map,
                           const HeaderList& client_headers) {
    WirePlan p;
    p.client = client;
    p.stream = facts.stream;
    p.model = resolve_model(client, facts.model, cat, map);
    if (p.model != facts.model) p.asked = facts.model;
    const ModelInfo* info = cat ? cat->find(p.model) : nullptr;
    p.upstream = choose_api(info, client);
    p.reasoning = info && !info->reasoning_efforts.empty();
    p.ctx.model = facts.model;
    p.ctx.created = static_cast<int64_t>(std::time(nullptr));
    p.ctx.id = new_id(client);

    p.headers.push_back({"X-Initiator", facts.agent ? "agent" : "user"});
    if (facts.vision) p.headers.push_back({"Copilot-Vision-Request", "true"});

    std::string upstream_body;
    if (!p.translated()) {
        upstream_body = p.asked.empty() ? std::string(body) : with_model(body, p.model);
        if (client == Api::messages) upstream_body = messages_passthrough_body(upstream_body, &p.dropped);
        if (client == Api::responses) upstream_body = responses_passthrough_body(upstream_body, &p.dropped);
        if (client == Api::messages)
            for (const auto& [name, value] : client_headers) {
                if (name == "anthropic-version") p.headers.push_back({name, value});
                if (name == "anthropic-beta") {
                    std::string kept = filter_anthropic_beta(value);
                    if (!kept.empty()) p.headers.push_back({name, kept});
                }
            }
    } else if (client == Api::responses && p.upstream == Api::chat) {
        upstream_body = wire::responses_request_to_chat(body, {p.reasoning});
    } else if (client == Api::chat && p.upstream == Api::responses) {
        p.include_usage = wire::chat_include_usage(body);
        upstream_body = wire::chat_request_to_responses(body, {p.reasoning});
    } else if (client == Api::messages &&
               (p.upstream == Api::chat || p.upstream == Api::responses)) {
        wire::ChatRequest chat = wire::messages_to_chat_request(body, {p.reasoning});
        p.dropped = std::move(chat.dropped);
        p.input_estimate = wire::count_tokens(body);
        upstream_body = p.upstream == Api::chat
                            ? std::move(chat.body)
                            : wire::chat_request_to_responses(chat.body, {p.reasoning});
    } else {
        throw wire::Untranslatable(
            "model", "the model " + client_text(p.model, 80) + " takes only " +
                         wire::api_path(p.upstream) + ", which " + wire::api_path(client) +
                         " requests are not translated to");
    }
    p.body = p.translated() ? with_model(upstream_body, p.model) : std::move(upstream_body);
    return p;
}

std::string translate_answer(const WirePlan& p, std::string_view answer) {
    if (!p.translated()) return std::string(answer);
    if (p.client == Api::responses) return wire::chat_answer_to_responses(answer, p.ctx);
    if (p.client == Api::chat) return wire::responses_answer_to_chat(answer, p.ctx);
    // Messages: from Chat, or from Responses through Chat.
    if (p.upstream == Api::chat) return wire::chat_to_messages_answer(answer, p.ctx);
    return wire::chat_to_messages_answer(wire::responses_answer_to_chat(answer, p.ctx), p.ctx);
}

std::optional<wire::Usage> answer_usage(Api api, std::string_view answer) {
    wire::Usage out;
    if (!wire::read_usage(api, answer, &out)) return std::nullopt;
    return out;
}

// --- streams ------------------------------------------------------------------------------

// The translators between the upstream's events and the client's: `first`
// takes the upstream's events; with two, `first` writes Chat events into
// `second`, which writes the client's.
struct TranslatedStream::Chain {
    wire::SseWriter writer;
    std::unique_ptr<wire::StreamTranslator> second;
    std::unique_ptr<wire::StreamTranslator> first;
    wire::ChatToMessagesStream* messages = nullptr;  // the Anthropic side, for pings
    explicit Chain(std::string* out) : writer(out) {}
    wire::StreamTranslator& client_side() { return second ? *second : *first; }
};

namespace {

// The message of an upstream event that says the answer failed: Chat's
// {"error":{...}} chunk, Responses' response.failed or error event.
std::optional<std::string> upstream_failure(Api upstream, std::string_view name,
                                            std::string_view data) {
    if (upstream == Api::chat && data.find("\"error\"") == std::string_view::npos)
        return std::nullopt;
    if (upstream == Api::responses && name != "response.failed" && name != "error")
        return std::nullopt;
    rapidjson::Document doc;
    try {
        doc = json_parse(data, JsonSource{"the upstream event", Exit::protocol}, false);
    } catch (const Error&) {
        return std::nullopt;  // the translator says what is wrong with it
    }
    if (!doc.IsObject()) return std::nullopt;
    const JsonValue* holder = &doc;
    if (name == "response.failed") {
        auto r = doc.FindMember("response");
        if (r != doc.MemberEnd() && r->value.IsObject()) holder = &r->value;
    }
    auto err = holder->FindMember("error");
    std::string message = "the upstream answer failed";
    const JsonValue* m = nullptr;
    if (err != holder->MemberEnd() && err->value.IsObject()) {
        auto mm = err->value.FindMember("message");
        if (mm != err->value.MemberEnd()) m = &mm->value;
    } else if (upstream == Api::chat) {
        return std::nullopt;  // a chunk that merely mentions "error"
    } else if (auto mm = doc.FindMember("message"); mm != doc.MemberEnd()) {
        m = &mm->value;
    }
    if (m && m->IsString()) message.assign(m->GetString(), m->GetStringLength());
    return "the Copilot API reported an error: " + message;
}

}  // namespace

TranslatedStream::TranslatedStream(const WirePlan& p)
    : chain_(std::make_unique<Chain>(&out_)), upstream_(p.upstream) {
    Chain& c = *chain_;
    if (p.client == Api::responses) {
        c.first = wire::chat_stream_to_responses(&c.writer, p.ctx);
    } else if (p.client == Api::chat) {
        c.first = wire::responses_stream_to_chat(&c.writer, p.ctx, p.include_usage);
    } else {
        auto m = std::make_unique<wire::ChatToMessagesStream>(c.writer, p.ctx, p.input_estimate);
        c.messages = m.get();
        if (p.upstream == Api::chat) {
            c.first = std::move(m);
        } else {
            c.second = std::move(m);
            c.first = wire::responses_stream_to_chat(c.second.get(), p.ctx, true);
        }
    }
}

TranslatedStream::~TranslatedStream() = default;

void TranslatedStream::feed(std::string_view bytes) {
    if (over_) return;
    parser_.feed(bytes, [this](const SseEvent& e) {
        if (over_) return;
        // A Chat event has no name; the parser calls it "message".
        const std::string_view name = e.type == "message" ? std::string_view() : e.type;
        if (upstream_ == Api::chat && e.data == "[DONE]") complete_ = true;
        if (upstream_ == Api::responses &&
            (name == "response.completed" || name == "response.incomplete"))
            complete_ = true;
        // The upstream's own failure ends the client's stream with the
        // client's error event, however many translators are between.
        if (auto failed = upstream_failure(upstream_, name, e.data)) {
            complete_ = true;
            fail(*failed);
            return;
        }
        chain_->first->event(name, e.data);
    });
}

bool TranslatedStream::end() {
    if (over_) return complete_;
    if (!complete_) {
        fail("the Copilot API ended the stream before the answer was complete");
        return false;
    }
    over_ = true;
    chain_->first->end();
    if (chain_->second) chain_->second->end();
    return true;
}

void TranslatedStream::fail(std::string_view message) {
    if (over_) return;
    over_ = true;
    // Only the client's side speaks: what the upstream side would say is
    // an event in the middle API nobody reads.
    chain_->client_side().fail(message);
}

bool TranslatedStream::ping() {
    if (over_ || !chain_->messages) return false;
    chain_->messages->ping();
    return true;
}

std::string TranslatedStream::take() {
    std::string out;
    out.swap(out_);
    return out;
}

wire::Usage TranslatedStream::usage() const { return chain_->first->usage(); }

}  // namespace copilot
