// A model and what it supports: the entries of GET {api}/models read into
// ModelInfo (id, endpoints, limits, supports, billing, policy), which ids we
// accept at all, the order we show them in, the one rule that picks the wire
// API a request goes out on (ARCHITECTURE.md, "Wire APIs"), the
// --list-models table and the models.txt cache that shell completion of
// --model reads. Where the list comes from and how long it is kept:
// api/catalogue.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/credentials.h"
#include "wire/wire.h"

namespace copilot {

struct ModelInfo {
    std::string id;
    std::string name;
    std::string vendor;
    std::string type = "chat";  // capabilities.type; "chat" when not given
    // supported_endpoints as the server wrote them (strings only, in its
    // order; "ws:/responses" and the like kept); missing -> {"/chat/completions"}.
    std::vector<std::string> endpoints = {"/chat/completions"};
    // The wire APIs among them (wire::api_from_endpoint), in that order, no repeats.
    std::vector<wire::Api> apis = {wire::Api::chat};
    // capabilities.limits
    std::optional<int64_t> context_window;  // max_context_window_tokens
    std::optional<int64_t> max_prompt;      // max_prompt_tokens
    std::optional<int64_t> max_output;      // max_output_tokens
    // capabilities.supports
    std::optional<bool> streaming;
    std::optional<bool> tool_calls;
    std::optional<bool> vision;
    std::vector<std::string> reasoning_efforts;  // "low", "medium", "high", ...; empty: none
    // billing
    std::optional<bool> premium;        // is_premium
    std::optional<double> multiplier;   // premium requests per request
    std::optional<bool> picker;         // model_picker_enabled
    bool preview = false;
    std::string policy_state;           // policy.state ("enabled", "unconfigured", ...); "" when absent

    bool supports(wire::Api api) const;
    bool supports_effort(std::string_view effort) const;
};

// A model id we accept from a server: 1 to 128 characters of
// [A-Za-z0-9._:/@+-]. Anything else (spaces, quotes, $, backticks, control
// characters, escape sequences) never reaches models.txt, the catalogue
// cache or a terminal (issue 13: completion ran server-chosen text).
constexpr size_t kMaxModelIdLength = 128;
bool valid_model_id(std::string_view id);

// Text from a server or the user shown on a terminal (model ids in
// messages): control characters and other non-printable ASCII become '?',
// and it is cut at kMaxModelIdLength characters with "...".
std::string printable(std::string_view text);

// GET {api}/models (raw body), with run_chat's refresh/retry rules.
std::string fetch_models(ApiCredentials& auth, const LogFn& log);

// Parses {"data": [...]} (or a bare array). Entries without a string id are
// skipped, entries whose id is not valid_model_id are dropped (a note to
// `log`); unknown fields are tolerated and mistyped optional fields ignored
// (api/lenient_json.h). Error(protocol) if the answer is not such a list.
std::vector<ModelInfo> parse_models(std::string_view body, const LogFn& log = {});

// The same list as a document to keep: {"data": [...]} with only the entries
// parse_models keeps, each as the server wrote it (so the catalogue cache
// never holds an id we would refuse). Error(protocol) as parse_models.
std::string filter_models_document(std::string_view body, const LogFn& log = {});

// The entry for `id` (the first, as select_models keeps it), or nullptr.
const ModelInfo* find_model(const std::vector<ModelInfo>& models, std::string_view id);

// THE routing rule: for a request for `model` in the caller's API, the wire
// API to send it upstream on. The caller's own when the model supports it
// (or the model is unknown: nullptr, or it names none of the three APIs);
// otherwise the first it supports of chat, responses, messages.
wire::Api choose_api(const ModelInfo* model, wire::Api caller);

// Chat models first, in the server's order, duplicates dropped; with `all`
// the other kinds (embeddings, ...) follow.
std::vector<ModelInfo> select_models(const std::vector<ModelInfo>& models, bool all);

// --list-models on a terminal: ID, VENDOR, ENDPOINTS (chat,responses,messages),
// CONTEXT, OUTPUT, PREMIUM ("1x", "0.33x"; "-" when not premium), PREVIEW,
// PICKER (and TYPE with `with_type`) in aligned columns, the head in bold
// with `bold`.
std::string models_table(const std::vector<ModelInfo>& models, bool with_type, bool bold);
// Elsewhere: one id a line.
std::string model_ids_text(const std::vector<ModelInfo>& models);

// $XDG_CACHE_HOME/copilot-utils/models.txt: the chat model ids last listed,
// one per line, for shell completion.
std::string models_cache_path();
void write_models_cache(const std::vector<ModelInfo>& models);

}  // namespace copilot
