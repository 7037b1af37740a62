// The model catalogue: GET /models kept on disk per host/profile for an hour
// (ARCHITECTURE.md, "Wire APIs"), so a request can be routed by what its
// model supports without asking /models each time. The entries themselves
// (ModelInfo, the routing rule choose_api) are api/models.h.
//
// The cache file is $XDG_CACHE_HOME/copilot-utils/catalogue/HOST[@PROFILE].json,
// 0600 in a 0700 directory, written atomically (util/files), holding
//   {"api_url": "...", "fetched_at": UNIX_SECONDS, "models": {"data": [...]}}
// where "models" is the server's list with only the entries whose id we
// accept (filter_models_document). It is used only while it is younger than
// kCatalogueLifetimeS and for the same API base URL; a file that is not ours
// (wrong owner or mode), damaged or stale is ignored and rewritten.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api_error.h"
#include "api/models.h"
#include "auth/credentials.h"

namespace copilot {

constexpr int64_t kCatalogueLifetimeS = 3600;

std::string catalogue_cache_path(const std::string& host, const std::string& profile);

struct Catalogue {
    std::vector<ModelInfo> models;  // parse_models of `document`
    std::string document;           // {"data": [...]}, filtered
    int64_t fetched_at = 0;
    const ModelInfo* find(std::string_view id) const { return find_model(models, id); }
};

// The cached catalogue for `api_url` when it is fresh at `now`, else nullopt
// (never throws: a bad file is a note to `log`).
std::optional<Catalogue> read_catalogue_cache(const std::string& host, const std::string& profile,
                                              const std::string& api_url, int64_t now,
                                              const LogFn& log = {});
// Error(io) when it cannot be written.
void write_catalogue_cache(const std::string& host, const std::string& profile,
                           const std::string& api_url, const Catalogue& c);

// A catalogue from a /models body (filtered; Error(protocol) as parse_models).
Catalogue catalogue_from_body(std::string_view body, int64_t now, const LogFn& log = {});

// A 400 whose code says the model, or the model on this endpoint, is not
// supported (unsupported_api_for_model, model_not_supported): the catalogue
// may be out of date, and the request may belong on another endpoint.
bool says_unsupported(long status, const ApiError& e);
// The same for an answer's body, parsed only when the status can say it.
bool says_unsupported(long status, std::string_view body, const std::string& secret);

// The catalogue of one API base for one process: read from the cache, fetched
// (and cached: the catalogue file and models.txt) when asked to.
class CatalogueSource {
public:
    CatalogueSource(ApiCredentials& auth, std::string host, std::string profile, LogFn log)
        : auth_(auth), host_(std::move(host)), profile_(std::move(profile)), log_(std::move(log)) {}

    // The cached catalogue if fresh; no network. nullptr when there is none.
    const Catalogue* cached(int64_t now);
    // The cached one, else fetched now. Throws what fetch_models throws.
    const Catalogue& get(int64_t now);
    // Fetched now (at most once per process: a second call returns the same).
    const Catalogue& refresh(int64_t now);
    // A /models body the caller fetched (--list-models, which prints it):
    // parsed, kept as refresh() would, and cached.
    const Catalogue& take(std::string_view body, int64_t now);
    // True once refresh() or take() fetched during this process.
    bool fetched() const { return fetched_; }

private:
    ApiCredentials& auth_;
    std::string host_, profile_;
    LogFn log_;
    std::optional<Catalogue> cat_;
    bool looked_ = false, fetched_ = false;
};

}  // namespace copilot
