#include "serve/bodies.h"

#include <algorithm>

#include "api/chat.h"  // parse_api_error
#include "serve/request_log.h"
#include "util/json.h"
#include "util/version.h"
#include "wire/messages.h"
#include "wire/responses.h"

namespace copilot {

std::string openai_error(std::string_view message, std::string_view type,
                         std::string_view code) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    auto text = [&w](std::string_view s) {
        w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    };
    w.StartObject();
    w.Key("error");
    w.StartObject();
    w.Key("message");
    text(message);
    w.Key("type");
    text(type);
    w.Key("param");
    w.Null();
    w.Key("code");
    if (code.empty())
        w.Null();
    else
        text(code);
    w.EndObject();
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}


std::string client_error(wire::Api api, long status, std::string_view message,
                         std::string_view code) {
    if (api == wire::Api::messages)
        return wire::anthropic_error_body(static_cast<int>(status), message);
    return openai_error(message, error_type_for_status(status), code);
}

const char* error_type_for_status(long status) {
    if (status == 401) return "authentication_error";
    if (status == 403) return "permission_error";
    if (status == 429) return "rate_limit_error";
    if (status >= 500) return "server_error";
    return "invalid_request_error";
}

InspectedBody inspect_request_body(std::string_view body, wire::Api api) {
    InspectedBody f;
    // json_parse, not a raw parse: with a duplicate "model" or "stream" the
    // proxy would read the first while the upstream may act on the last.
    rapidjson::Document doc;
    try {
        doc = json_parse(body, JsonSource{"the request body", Exit::data}, false);
    } catch (const Error& e) {
        f.fault = e.what();
        return f;
    }
    if (!doc.IsObject()) return f;
    f.json_object = true;
    // The client's API reads what the body says of itself; a body it finds
    // malformed still goes on (the upstream, or the translation, says what
    // is wrong with it), with what can be read here.
    try {
        if (api == wire::Api::responses) {
            f.facts = wire::responses_facts(doc);
            return f;
        }
        if (api == wire::Api::messages) {
            f.facts = wire::messages_facts(doc);
            return f;
        }
        if (doc.HasMember("messages")) {
            f.facts = wire::chat_facts(doc);
            return f;
        }
    } catch (const Error&) {
    }
    auto m = doc.FindMember("model");
    if (m != doc.MemberEnd() && m->value.IsString())
        f.facts.model.assign(m->value.GetString(), m->value.GetStringLength());
    auto s = doc.FindMember("stream");
    f.facts.stream = s != doc.MemberEnd() && s->value.IsBool() && s->value.GetBool();
    return f;
}

namespace {

// `doc` = the JSON object in `body`, false (no error) if it is not one that
// json_parse accepts: for the envelopes read leniently.
bool parse_object(rapidjson::Document& doc, std::string_view body) {
    try {
        doc = json_parse(body, JsonSource{"answer", Exit::protocol});
        return true;
    } catch (const Error&) {
        return false;
    }
}

// The entries of Copilot's model list (an object's "data", or a bare array),
// parsed into `doc`. Error(protocol) when it is not a list, or not JSON
// json_parse accepts (an entry with two "id"s would be ambiguous).
const JsonValue& model_list(rapidjson::Document& doc, std::string_view copilot_body) {
    doc = json_parse(copilot_body,
                     JsonSource{"the model list the Copilot API sent", Exit::protocol}, false);
    if (doc.IsArray()) return doc;
    if (doc.IsObject()) {
        auto d = doc.FindMember("data");
        if (d != doc.MemberEnd() && d->value.IsArray()) return d->value;
    }
    throw Error(Exit::protocol, "the Copilot API sent a model list without \"data\"");
}

// The id of a usable entry (an object with a string "id"), else nullopt.
std::optional<std::string_view> model_entry_id(const JsonValue& entry) {
    if (!entry.IsObject()) return std::nullopt;
    auto id = entry.FindMember("id");
    if (id == entry.MemberEnd() || !id->value.IsString()) return std::nullopt;
    return std::string_view(id->value.GetString(), id->value.GetStringLength());
}

// One entry in OpenAI's shape: Copilot's fields kept, the fields OpenAI
// clients read added when missing.
rapidjson::Value openai_model_entry(const JsonValue& entry,
                                    rapidjson::Document::AllocatorType& alloc) {
    rapidjson::Value e(entry, alloc);
    if (!e.HasMember("object")) e.AddMember("object", "model", alloc);
    if (!e.HasMember("created")) e.AddMember("created", 0, alloc);
    if (!e.HasMember("owned_by")) {
        auto vendor = entry.FindMember("vendor");
        rapidjson::Value owner;
        if (vendor != entry.MemberEnd() && vendor->value.IsString())
            owner.SetString(vendor->value.GetString(), vendor->value.GetStringLength(), alloc);
        else
            owner.SetString("github-copilot", alloc);
        e.AddMember("owned_by", owner, alloc);
    }
    return e;
}

}  // namespace

std::string openai_models(std::string_view copilot_body) {
    rapidjson::Document doc;
    const JsonValue& list = model_list(doc, copilot_body);
    rapidjson::Document out;
    out.SetObject();
    auto& alloc = out.GetAllocator();
    rapidjson::Value data(rapidjson::kArrayType);
    for (const auto& entry : list.GetArray())
        if (model_entry_id(entry)) data.PushBack(openai_model_entry(entry, alloc), alloc);
    out.AddMember("object", "list", alloc);
    out.AddMember("data", data, alloc);
    return json_dump(out);
}

std::optional<std::string> openai_model(std::string_view copilot_body, std::string_view id) {
    rapidjson::Document doc;
    const JsonValue& list = model_list(doc, copilot_body);
    for (const auto& entry : list.GetArray()) {
        if (model_entry_id(entry) != id) continue;
        rapidjson::Document out;  // owns the copy's memory
        return json_dump(openai_model_entry(entry, out.GetAllocator()));
    }
    return std::nullopt;
}

std::string model_not_found_body(std::string_view id) {
    return openai_error("the model '" + client_text(id, 80) +
                            "' does not exist; GET /v1/models lists the models there are",
                        error_type_for_status(404), "model_not_found");
}

std::string upstream_error_body(long status, std::string_view body, const std::string& secret,
                                wire::Api api) {
    // Passed through as sent only when it is JSON json_parse accepts: with
    // a duplicate key the client's parser might read another message than
    // ours; such a body is rebuilt from what parse_api_error makes of it.
    rapidjson::Document doc;
    if (parse_object(doc, body)) {
        auto err = doc.FindMember("error");
        auto type = doc.FindMember("type");
        const bool anthropic = type != doc.MemberEnd() && type->value.IsString() &&
                               std::string_view(type->value.GetString()) == "error";
        if (err != doc.MemberEnd() && err->value.IsObject() &&
            anthropic == (api == wire::Api::messages))
            return redact(std::string(body), secret);
    }
    ApiError e = parse_api_error(body, secret);
    std::string message = e.message.empty()
                              ? "the Copilot API answered HTTP " + std::to_string(status)
                              : e.message;
    return client_error(api, status, message, e.code);
}

std::string sse_error_event(std::string_view message, std::string_view tail, wire::Api api) {
    // Does `tail` end with an empty line (two line ends in a row), i.e. is
    // no event half-written? Line ends are CRLF, LF or CR.
    auto strip_line_end = [](std::string_view& s) {
        if (s.size() >= 2 && s.substr(s.size() - 2) == "\r\n") {
            s.remove_suffix(2);
            return true;
        }
        if (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
            s.remove_suffix(1);
            return true;
        }
        return false;
    };
    std::string_view t = tail;
    const bool ended = t.empty() || (strip_line_end(t) && strip_line_end(t));
    std::string out = ended ? "" : "\n\n";
    if (api == wire::Api::messages)
        out += "event: error\ndata: " + client_error(api, 500, message) + "\n\n";
    else
        out += "data: " + openai_error(message, "server_error", "upstream_error") + "\n\n";
    return out;
}

std::string health_json(const TokenStatus& s, const std::string& host, int64_t now,
                        uint64_t in_flight, uint64_t upstream_in_flight) {
    using State = TokenStatus::State;
    const char* status = "starting";
    switch (s.state) {
    case State::ready: status = "ok"; break;
    case State::login_pending: status = "waiting_for_login"; break;
    case State::unavailable: status = "unavailable"; break;
    case State::starting: status = "starting"; break;
    }
    JsonObjectWriter w;
    w.field("status", status).field("host", host).field("token_ready", s.ready());
    if (s.expires_at > 0) {
        w.field("token_expires_at", s.expires_at);
        w.field("token_expires_in", std::max<int64_t>(0, s.expires_at - now));
        w.field("token_refresh_at", s.refresh_at);
    } else {
        w.null_field("token_expires_at").null_field("token_expires_in").null_field(
            "token_refresh_at");
    }
    if (!s.api_url.empty()) w.field("api_url", s.api_url);
    if (!s.user_code.empty()) {
        w.field("user_code", s.user_code);
        w.field("verification_uri", s.verification_uri);
    }
    if (!s.problem.empty()) w.field("problem", s.problem);
    w.field("requests_in_flight", static_cast<int64_t>(in_flight));
    w.field("upstream_requests_in_flight", static_cast<int64_t>(upstream_in_flight));
    w.field("version", COPILOT_UTILS_VERSION);
    return w.str();
}

}  // namespace copilot
