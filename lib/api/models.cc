#include "api/models.h"

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
