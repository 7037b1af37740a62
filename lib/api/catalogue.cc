#include "api/catalogue.h"

#include "util/files.h"
#include "util/json.h"
#include "util/paths.h"

namespace copilot {

namespace {

constexpr size_t kMaxCatalogueFile = 8u << 20;  // a few hundred models are ~200 KB

void note(const LogFn& log, const std::string& message) {
    if (log) log(message);
}

}  // namespace

std::string catalogue_cache_path(const std::string& host, const std::string& profile) {
    return cache_home() + "/copilot-utils/catalogue/" + state_name(host, profile) + ".json";
}

Catalogue catalogue_from_body(std::string_view body, int64_t now, const LogFn& log) {
    Catalogue c;
    c.document = filter_models_document(body, log);
    c.models = parse_models(c.document);
    c.fetched_at = now;
    return c;
}

std::optional<Catalogue> read_catalogue_cache(const std::string& host, const std::string& profile,
                                              const std::string& api_url, int64_t now,
                                              const LogFn& log) {
    try {
        const std::string path = catalogue_cache_path(host, profile);
        auto text = read_private_file(path, kMaxCatalogueFile);
        if (!text) return std::nullopt;
        const JsonSource src{"model catalogue " + path, Exit::data};
        rapidjson::Document doc = json_parse(*text, src);
        if (json_string(doc, "api_url", src) != api_url) {
            note(log, "the model catalogue cache is for another API; fetching /models");
            return std::nullopt;
        }
        const int64_t at = json_seconds(doc, "fetched_at", src);
        if (now < at || now - at >= kCatalogueLifetimeS) return std::nullopt;
        Catalogue c;
        c.document = json_dump(json_object(doc, "models", src));
        c.models = parse_models(c.document);
        c.fetched_at = at;
        return c;
    } catch (const Error& e) {
        note(log, std::string("ignoring the model catalogue cache: ") + e.what());
        return std::nullopt;
    }
}

void write_catalogue_cache(const std::string& host, const std::string& profile,
                           const std::string& api_url, const Catalogue& c) {
    std::string doc = "{\"api_url\":" + json_quote(api_url) +
                      ",\"fetched_at\":" + std::to_string(c.fetched_at) +
                      ",\"models\":" + c.document + "}\n";
    write_file_atomic(catalogue_cache_path(host, profile), doc, 0600, true);
}

bool says_unsupported(long status, const ApiError& e) {
    return status == 400 &&
           (e.code == "unsupported_api_for_model" || e.code == "model_not_supported");
}

bool says_unsupported(long status, std::string_view body, const std::string& secret) {
    // Every answer passes here: only a 400's body is worth parsing.
    return status == 400 && says_unsupported(status, parse_api_error(body, secret));
}

const Catalogue* CatalogueSource::cached(int64_t now) {
    if (!looked_) {
        looked_ = true;
        if (!cat_) cat_ = read_catalogue_cache(host_, profile_, auth_.api_url, now, log_);
    }
    return cat_ ? &*cat_ : nullptr;
}

const Catalogue& CatalogueSource::get(int64_t now) {
    if (const Catalogue* c = cached(now)) return *c;
    return refresh(now);
}

const Catalogue& CatalogueSource::refresh(int64_t now) {
    if (fetched_) return *cat_;
    return take(fetch_models(auth_, log_), now);
}

const Catalogue& CatalogueSource::take(std::string_view body, int64_t now) {
    Catalogue c = catalogue_from_body(body, now, log_);
    fetched_ = true;
    looked_ = true;
    cat_ = std::move(c);
    try {
        write_catalogue_cache(host_, profile_, auth_.api_url, *cat_);
        write_models_cache(cat_->models);  // for shell completion of --model
    } catch (const Error& e) {
        note(log_, std::string("cannot cache the model list: ") + e.what());
    }
    return *cat_;
}

}  // namespace copilot
