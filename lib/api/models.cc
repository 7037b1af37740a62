#include "api/models.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "api/api_call.h"
#include "api/lenient_json.h"
#include "util/files.h"
#include "util/paths.h"

namespace copilot {

using lenient::int_member;
using lenient::member;
using lenient::str_member;

std::string fetch_models(ApiCredentials& auth, const LogFn& log) {
    auto make = [&]() {
        HttpRequest r = api_request(auth, "GET", "/models", log);
        r.headers.push_back({"Accept", "application/json"});
        r.timeout_ms = 30000;
        return r;
    };
    if (log) log("GET " + auth.api_url + "/models");
    bool refreshed = false;
    HttpResponse r = send_with_refresh(auth, make, log, &refreshed);
    if (r.status < 200 || r.status >= 300)
        throw status_error(auth, r, refreshed, "model list", nullptr, log);
    return r.body;
}

bool ModelInfo::supports(wire::Api api) const {
    return std::find(apis.begin(), apis.end(), api) != apis.end();
}

bool ModelInfo::supports_effort(std::string_view effort) const {
    return std::find(reasoning_efforts.begin(), reasoning_efforts.end(), effort) !=
           reasoning_efforts.end();
}

bool valid_model_id(std::string_view id) {
    if (id.empty() || id.size() > kMaxModelIdLength) return false;
    for (char c : id) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                        c == '.' || c == '_' || c == ':' || c == '/' || c == '@' || c == '+' ||
                        c == '-';
        if (!ok) return false;
    }
    return true;
}

std::string printable(std::string_view text) {
    std::string out;
    size_t chars = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (chars == kMaxModelIdLength) {
            out += "...";
            break;
        }
        // UTF-8 continuation bytes do not start a character
        if ((c & 0xC0) != 0x80) ++chars;
        out.push_back(c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c));
    }
    // C1 controls (U+0080..U+009F, "\xC2\x80".."\xC2\x9F") act as escapes on some terminals
    for (size_t i = 0; i + 1 < out.size(); ++i)
        if (static_cast<unsigned char>(out[i]) == 0xC2 &&
            static_cast<unsigned char>(out[i + 1]) >= 0x80 &&
            static_cast<unsigned char>(out[i + 1]) <= 0x9F) {
            out.replace(i, 2, "?");
        }
    return out;
}

namespace {

const JsonValue* model_list(const rapidjson::Document& doc) {
    const JsonValue* list = &doc;
    if (doc.IsObject()) list = member(doc, "data");
    if (!list || !list->IsArray())
        throw Error(Exit::protocol, "model list: expected {\"data\": [...]}");
    return list;
}

std::optional<bool> bool_member(const JsonValue& obj, const char* key) {
    const JsonValue* v = member(obj, key);
    if (!v || !v->IsBool()) return std::nullopt;
    return v->GetBool();
}

// The id of an entry we keep, or nullopt (no string id: skipped quietly; an
// id we refuse: dropped with a note).
std::optional<std::string> kept_id(const JsonValue& m, const LogFn& log) {
    auto id = str_member(m, "id");
    if (!id || id->empty()) return std::nullopt;
    if (!valid_model_id(*id)) {
        if (log) log("model list: dropped an entry whose id is not a plain model id: '" +
                     printable(*id) + "'");
        return std::nullopt;
    }
    return id;
}

void read_endpoints(const JsonValue& m, ModelInfo& info) {
    const JsonValue* eps = member(m, "supported_endpoints");
    if (!eps || !eps->IsArray()) return;  // older entries: Chat only
    info.endpoints.clear();
    info.apis.clear();
    for (const auto& e : eps->GetArray()) {
        if (!e.IsString()) continue;
        std::string ep(e.GetString(), e.GetStringLength());
        if (auto api = wire::api_from_endpoint(ep); api && !info.supports(*api))
            info.apis.push_back(*api);
        info.endpoints.push_back(std::move(ep));
    }
}

ModelInfo read_model(const JsonValue& m, std::string id) {
    ModelInfo info;
    info.id = std::move(id);
    info.name = str_member(m, "name").value_or("");
    info.vendor = str_member(m, "vendor").value_or(str_member(m, "owned_by").value_or(""));
    info.picker = bool_member(m, "model_picker_enabled");
    info.preview = bool_member(m, "preview").value_or(false);
    read_endpoints(m, info);
    if (const JsonValue* pol = member(m, "policy"); pol && pol->IsObject())
        info.policy_state = str_member(*pol, "state").value_or("");
    if (const JsonValue* bill = member(m, "billing"); bill && bill->IsObject()) {
        info.premium = bool_member(*bill, "is_premium");
        if (const JsonValue* x = member(*bill, "multiplier"); x && x->IsNumber() &&
                                                               x->GetDouble() >= 0 &&
                                                               x->GetDouble() < 1e6)
            info.multiplier = x->GetDouble();
    }
    const JsonValue* caps = member(m, "capabilities");
    if (!caps || !caps->IsObject()) return info;
    if (auto type = str_member(*caps, "type"); type && !type->empty()) info.type = *type;
    if (const JsonValue* lim = member(*caps, "limits"); lim && lim->IsObject()) {
        info.context_window = int_member(*lim, "max_context_window_tokens");
        info.max_prompt = int_member(*lim, "max_prompt_tokens");
        info.max_output = int_member(*lim, "max_output_tokens");
    }
    if (const JsonValue* sup = member(*caps, "supports"); sup && sup->IsObject()) {
        info.streaming = bool_member(*sup, "streaming");
        info.tool_calls = bool_member(*sup, "tool_calls");
        info.vision = bool_member(*sup, "vision");
        if (const JsonValue* eff = member(*sup, "reasoning_effort"); eff && eff->IsArray()) {
            for (const auto& e : eff->GetArray())
                if (e.IsString() && e.GetStringLength() > 0 && e.GetStringLength() <= 32)
                    info.reasoning_efforts.emplace_back(e.GetString(), e.GetStringLength());
        }
    }
    return info;
}

}  // namespace

std::vector<ModelInfo> parse_models(std::string_view body, const LogFn& log) {
    const JsonSource src{"model list", Exit::protocol};
    rapidjson::Document doc = json_parse(body, src, false);
    std::vector<ModelInfo> out;
    for (const auto& m : model_list(doc)->GetArray()) {
        if (auto id = kept_id(m, log)) out.push_back(read_model(m, std::move(*id)));
    }
    return out;
}

std::string filter_models_document(std::string_view body, const LogFn& log) {
    const JsonSource src{"model list", Exit::protocol};
    rapidjson::Document doc = json_parse(body, src, false);
    std::string out = "{\"data\":[";
    bool first = true;
    for (const auto& m : model_list(doc)->GetArray()) {
        if (!kept_id(m, log)) continue;
        if (!first) out += ",";
        first = false;
        out += json_dump(m);
    }
    return out + "]}";
}

const ModelInfo* find_model(const std::vector<ModelInfo>& models, std::string_view id) {
    for (const auto& m : models)
        if (m.id == id) return &m;
    return nullptr;
}

wire::Api choose_api(const ModelInfo* model, wire::Api caller) {
    if (!model || model->apis.empty() || model->supports(caller)) return caller;
    // A fixed preference, so one model always goes out the same way.
    for (wire::Api a : {wire::Api::chat, wire::Api::responses, wire::Api::messages})
        if (model->supports(a)) return a;
    return caller;
}

std::vector<ModelInfo> select_models(const std::vector<ModelInfo>& models, bool all) {
    std::vector<ModelInfo> out;
    std::set<std::string> seen;
    for (int pass = 0; pass < (all ? 2 : 1); ++pass) {
        for (const auto& m : models) {
            if ((m.type == "chat") != (pass == 0)) continue;
            if (seen.insert(m.id).second) out.push_back(m);
        }
    }
    return out;
}

namespace {

std::string cell(const std::optional<int64_t>& n) { return n ? std::to_string(*n) : "-"; }

std::string pad(const std::string& s, size_t width, bool right) {
    if (s.size() >= width) return s;
    std::string fill(width - s.size(), ' ');
    return right ? fill + s : s + fill;
}

}  // namespace

namespace {

std::string endpoints_cell(const ModelInfo& m) {
    std::string out;
    for (wire::Api a : m.apis) out += (out.empty() ? "" : ",") + std::string(wire::api_name(a));
    return out.empty() ? "-" : out;
}

std::string premium_cell(const ModelInfo& m) {
    if (!m.premium || !*m.premium) return "-";
    if (!m.multiplier) return "yes";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", *m.multiplier);
    std::string s = buf;  // "1.00" -> "1", "0.33" stays, "0.50" -> "0.5"
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s + "x";
}

}  // namespace

std::string models_table(const std::vector<ModelInfo>& models, bool with_type, bool bold) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> head = {"ID",      "VENDOR",  "ENDPOINTS", "CONTEXT",
                                     "OUTPUT",  "PREMIUM", "PREVIEW",   "PICKER"};
    if (with_type) head.push_back("TYPE");
    rows.push_back(head);
    for (const auto& m : models) {
        std::vector<std::string> row = {printable(m.id),
                                        m.vendor.empty() ? "-" : printable(m.vendor),
                                        endpoints_cell(m),
                                        cell(m.context_window),
                                        cell(m.max_output),
                                        premium_cell(m),
                                        m.preview ? "yes" : "no",
                                        m.picker ? (*m.picker ? "yes" : "no") : "-"};
        if (with_type) row.push_back(printable(m.type));
        rows.push_back(row);
    }
    std::vector<size_t> width(head.size(), 0);
    for (const auto& row : rows)
        for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    std::string out;
    for (size_t k = 0; k < rows.size(); ++k) {
        std::string line;
        for (size_t i = 0; i < rows[k].size(); ++i) {
            bool numeric = i == 3 || i == 4 || i == 5;
            bool last = i + 1 == rows[k].size();
            line += last ? rows[k][i] : pad(rows[k][i], width[i], numeric) + "  ";
        }
        if (k == 0 && bold) line = "\033[1m" + line + "\033[0m";
        out += line + "\n";
    }
    return out;
}

std::string model_ids_text(const std::vector<ModelInfo>& models) {
    std::string out;
    for (const auto& m : models) out += m.id + "\n";
    return out;
}

std::string models_cache_path() { return cache_home() + "/copilot-utils/models.txt"; }

void write_models_cache(const std::vector<ModelInfo>& models) {
    std::string text;
    for (const auto& m : select_models(models, false)) {
        // Completion reads these as data; an id outside valid_model_id (which
        // parse_models already drops) never gets here.
        if (!valid_model_id(m.id)) continue;
        text += m.id + "\n";
    }
    write_file_atomic(models_cache_path(), text, 0600, true);
}

}  // namespace copilot
