#include "api/models.h"

#include <algorithm>
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

std::vector<ModelInfo> parse_models(std::string_view body) {
    const JsonSource src{"model list", Exit::protocol};
    rapidjson::Document doc = json_parse(body, src, false);
    const JsonValue* list = &doc;
    if (doc.IsObject()) list = member(doc, "data");
    if (!list || !list->IsArray())
        throw Error(Exit::protocol, "model list: expected {\"data\": [...]}");
    std::vector<ModelInfo> out;
    for (const auto& m : list->GetArray()) {
        auto id = str_member(m, "id");
        if (!id || id->empty()) continue;
        ModelInfo info;
        info.id = *id;
        info.name = str_member(m, "name").value_or("");
        info.vendor = str_member(m, "vendor").value_or(str_member(m, "owned_by").value_or(""));
        if (const JsonValue* p = member(m, "model_picker_enabled"); p && p->IsBool())
            info.picker = p->GetBool();
        if (const JsonValue* p = member(m, "preview"); p && p->IsBool()) info.preview = p->GetBool();
        if (const JsonValue* caps = member(m, "capabilities"); caps && caps->IsObject()) {
            if (auto type = str_member(*caps, "type"); type && !type->empty()) info.type = *type;
            if (const JsonValue* lim = member(*caps, "limits"); lim && lim->IsObject()) {
                info.context_window = int_member(*lim, "max_context_window_tokens");
                info.max_output = int_member(*lim, "max_output_tokens");
            }
        }
        out.push_back(std::move(info));
    }
    return out;
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

std::string models_table(const std::vector<ModelInfo>& models, bool with_type, bool bold) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> head = {"ID", "VENDOR", "CONTEXT", "OUTPUT", "PICKER"};
    if (with_type) head.push_back("TYPE");
    rows.push_back(head);
    for (const auto& m : models) {
        std::vector<std::string> row = {m.id, m.vendor.empty() ? "-" : m.vendor,
                                        cell(m.context_window), cell(m.max_output),
                                        m.picker ? (*m.picker ? "yes" : "no") : "-"};
        if (with_type) row.push_back(m.type);
        rows.push_back(row);
    }
    std::vector<size_t> width(head.size(), 0);
    for (const auto& row : rows)
        for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    std::string out;
    for (size_t k = 0; k < rows.size(); ++k) {
        std::string line;
        for (size_t i = 0; i < rows[k].size(); ++i) {
            bool numeric = i == 2 || i == 3;
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
        // one id a line: ids with line breaks or spaces would break completion
        if (m.id.find_first_of(" \t\r\n") != std::string::npos) continue;
        text += m.id + "\n";
    }
    write_file_atomic(models_cache_path(), text, 0600, true);
}

}  // namespace copilot
